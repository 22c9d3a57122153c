"""Mixed precision: a bf16 model for speed, fp32 master weights for the optimizer.

An update of ``lr = 2e-5`` is far below bf16's resolution (8 bits of mantissa) for a weight of size
0.02, so AdamW stepping bf16 weights directly rounds most updates away and the model barely learns.
:class:`MasterWeights` keeps an fp32 copy of every trainable low-precision parameter; gradients are
copied to it, the optimizer steps it, and the rounded result is written back to the model, which
keeps generating and back-propagating in bf16.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MasterWeights:
    """fp32 copies of low-precision parameters, stepped by the optimizer instead of the model's.

    Args:
        params: The model's trainable parameters (any dtype).
    """

    def __init__(self, params: Sequence[Any]) -> None:
        import torch

        self.model_params = list(params)
        self.master = [torch.nn.Parameter(p.detach().float().clone()) for p in self.model_params]

    def parameters(self) -> list[Any]:
        """The fp32 parameters to give the optimizer."""
        return list(self.master)

    def copy_grads(self) -> None:
        """Move the model's gradients onto the fp32 copies (in fp32)."""
        for master, param in zip(self.master, self.model_params, strict=True):
            master.grad = None if param.grad is None else param.grad.detach().float()
            param.grad = None

    def copy_weights(self) -> None:
        """Write the fp32 weights back into the model (rounded to its dtype)."""
        import torch

        with torch.no_grad():
            for master, param in zip(self.master, self.model_params, strict=True):
                param.copy_(master)

    def state_dict(self) -> dict[str, Any]:
        """The fp32 weights (the model's own state is their rounding)."""
        return {"master": [m.detach().clone() for m in self.master]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the fp32 weights and write them into the model."""
        import torch

        with torch.no_grad():
            for master, saved in zip(self.master, state["master"], strict=True):
                master.copy_(saved)
        self.copy_weights()


def needs_master_weights(params: Sequence[Any]) -> bool:
    """Whether any trainable parameter is stored below fp32."""
    import torch

    return any(p.dtype in (torch.bfloat16, torch.float16) for p in params)
