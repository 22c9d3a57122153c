"""Training algorithms: advantages and losses on padded token tensors, one file per algorithm.

``batch`` turns episodes into tensors; ``grpo``, ``rloo``, ``reinforce`` and ``ppo`` are online;
``rejection_sampling``, ``dpo`` and ``stable_alignment`` learn from ranked or rated responses.
"""

ONLINE = ("grpo", "rloo", "reinforce", "ppo")
OFFLINE = ("rejection_sampling", "dpo", "stable_alignment")
ALGORITHMS = ONLINE + OFFLINE
