"""What past runs teach: one table of every run in rl-lr's output directories
(:mod:`.index`), queries on it (:mod:`.query`) and LR policies and search spaces suggested from
it (:mod:`.suggest`), which ``rl-lr tune``, ``find-lr`` and ``pbt`` start from
(``--warm-start``)."""
