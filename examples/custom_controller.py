"""A user-written LR controller in 15 lines: halve the LR whenever the newest observed episode
return dips below the mean of the Monitor window, never below ``floor`` times the base.

Once this module is imported it works like a built-in, in Python, YAML and the CLI:

    rl-lr --import examples/custom_controller.py lr "halve_on_dip(cosine(1e-3))" --points 5
"""

from dataclasses import dataclass

import rl_lr
from rl_lr.controllers import Controller


@rl_lr.register("halve_on_dip")
@dataclass(frozen=True, repr=False)
class HalveOnDip(Controller):
    """``halve_on_dip(base, factor=0.5, floor=0.05)``: cut the LR when the return dips."""

    factor: float = 0.5
    floor: float = 0.05

    def update(self, signals: rl_lr.TrainingSignals) -> None:
        returns = signals.recent_returns
        if len(returns) > 1 and returns[-1] < sum(returns) / len(returns):
            self.state.multiplier = max(self.floor, self.state.multiplier * self.factor)


if __name__ == "__main__":
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0)
    hook = rl_lr.attach(model, "halve_on_dip(cosine(1e-3, end=1e-4))", total_timesteps=4096)
    model.learn(4096)
    controller = hook.attached.policies["policy"]
    print(f"final LR {hook.last_lr['policy']:.3g}, multiplier {controller.state.multiplier:.3g}")
