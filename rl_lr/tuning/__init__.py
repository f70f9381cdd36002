"""Tuning: Optuna studies over LR policies and hyper-parameters (:mod:`.study`, its search
space :mod:`.space`, its files :mod:`.outputs`), the LR range test (:mod:`.find_lr`) and
population-based training (:mod:`.pbt`). Optuna and Ray are optional: nothing here imports
them until a study or a population runs."""
