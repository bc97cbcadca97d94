"""PixelRNN with Row LSTM layers (van den Oord, Kalchbrenner, Kavukcuoglu, ICML 2016, section 3.1).

Tensor convention as in `archs`: (N, 1, H, W) float32 gray images on [0, 1] in, (N, 256, H, W)
logits out; position (i, j) depends only on pixels before it in raster order.

Structure (the paper's, small): a 7×7 masked convolution of type "A" (hides the centre pixel), then
`layers` Row LSTM layers with residual connections, then ReLU - 1×1 - ReLU - 1×1 to a 256-way
softmax per pixel. A Row LSTM layer processes the image one row at a time, top to bottom:

    [o, f, i, g]_row r = σ/tanh( K_is ⊛ x_(rows ≤ r)  +  K_ss ⊛ h_(row r-1) )
    c_r = f ⊙ c_(r-1) + i ⊙ g,   h_r = o ⊙ tanh(c_r),

with the input-to-state K_is a 3×3 convolution masked to type "B" (rows above and the left part of
the current row, centre included) computed for all rows at once, and the state-to-state K_ss a
1-D convolution of width 3 over the previous row's hidden state. The hidden state at (r, j) thus
sees a triangle of rows above (widening by one column per row) and the row's left part: the
"triangular receptive field" of the paper, with its blind spot to the right of the triangle.

`step_row` computes one row from the state of the rows above; it gives exactly the rows of
`forward` (tested), which is what makes filling a hole pixel by pixel cost one row per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reference_methods.generative.archs import GENERATIVE_ARCHITECTURES, MaskedConv2d


class RowLSTM(nn.Module):
    """One Row LSTM layer: (N, C, H, W) features -> (N, C, H, W) (residual: x + 1×1(h))."""

    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(features, 4 * hidden, 3, "B")
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1)
        self.out = nn.Conv2d(hidden, features, 1)

    def cell(
        self, gates_in: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One row: input gates (N, 4H, W) and the previous row's h, c (N, H, W) -> new h, c."""
        o, f, i, g = (gates_in + self.state_to_state(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, rows, width = x.shape
        gates = self.input_to_state(x)
        h = x.new_zeros(n, self.hidden, width)
        c = torch.zeros_like(h)
        hs = []
        for r in range(rows):
            h, c = self.cell(gates[:, :, r], h, c)
            hs.append(h)
        return x + self.out(torch.stack(hs, dim=2))


@dataclass
class RowState:
    """What `PixelRNN.step_row` needs of the rows above row r: the last 3 image rows (for the 7×7
    first layer), and per layer the previous row of its input features and its h, c."""

    image_rows: torch.Tensor  # (N, 1, 3, W), as the network sees them (2x - 1; zero above the image)
    inputs: list[torch.Tensor]  # per layer (N, C, 1, W)
    h: list[torch.Tensor]  # per layer (N, hidden, W)
    c: list[torch.Tensor]

    def columns(self, start: int, stop: int) -> RowState:
        """The state of columns [start, stop) only (for `step_row` on a crop of the row)."""
        return RowState(
            self.image_rows[..., start:stop],
            [t[..., start:stop] for t in self.inputs],
            [t[..., start:stop] for t in self.h],
            [t[..., start:stop] for t in self.c],
        )


class PixelRNN(nn.Module):
    """Row LSTM PixelRNN over 8-bit gray pixels (`levels` = 256 classes per pixel)."""

    def __init__(self, levels: int = 256, features: int = 32, hidden: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.levels, self.features, self.hidden_size = levels, features, hidden
        self.first = MaskedConv2d(1, features, 7, "A")
        self.layers = nn.ModuleList([RowLSTM(features, hidden) for _ in range(layers)])
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(features, 2 * features, 1), nn.ReLU(), nn.Conv2d(2 * features, levels, 1)
        )
        # Within one `step_row`, column j's logits depend on columns j ± row_reach of the row and
        # the state: 3 for the 7×7 first layer, 1 per Row LSTM layer (its 3-wide convolutions),
        # plus one spare. A crop of the row with this margin gives column j exactly (tested).
        self.row_reach = 3 + layers + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"PixelRNN takes (N, 1, H, W) gray images, got {tuple(x.shape)}")
        h = self.first(2.0 * x - 1.0)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood in nats per pixel (pixels quantised to `levels`)."""
        target = (x[:, 0] * (self.levels - 1)).round().long().clamp(0, self.levels - 1)
        return F.cross_entropy(self(x), target)

    def initial_state(self, batch: int, width: int, device: torch.device) -> RowState:
        """The state above row 0: zero image rows (the convolutions' zero padding), zero h and c."""
        zeros = [torch.zeros(batch, self.hidden_size, width, device=device) for _ in self.layers]
        return RowState(
            torch.zeros(batch, 1, 3, width, device=device),
            [torch.zeros(batch, self.features, 1, width, device=device) for _ in self.layers],
            zeros,
            [z.clone() for z in zeros],
        )

    def step_row(self, row: torch.Tensor, state: RowState) -> tuple[torch.Tensor, RowState]:
        """Logits (N, levels, W) of one image row (N, 1, W) on [0, 1] given the rows above, and the
        state for the next row. Values of `row` at and after a column j never change column j's
        logits, so a row may be passed while it is still being filled in."""
        current = 2.0 * row[:, :, None] - 1.0
        image = torch.cat([state.image_rows, current], dim=2)  # (N, 1, 4, W)
        # The 7×7 mask-A convolution reaches 3 rows up; only its output row 3 is the current row.
        h = self.first(image)[:, :, 3:4]
        inputs, hs, cs = [], [], []
        for k, layer in enumerate(self.layers):
            pair = torch.cat([state.inputs[k], h], dim=2)  # previous and current row of the input
            gates = layer.input_to_state(pair)[:, :, 1]
            h_new, c_new = layer.cell(gates, state.h[k], state.c[k])
            inputs.append(h)
            hs.append(h_new)
            cs.append(c_new)
            h = h + layer.out(h_new[:, :, None])
        logits = self.head(h)[:, :, 0]
        image_rows = torch.cat([state.image_rows[:, :, 1:], current], dim=2)
        return logits, RowState(image_rows, inputs, hs, cs)


GENERATIVE_ARCHITECTURES["pixelrnn"] = PixelRNN
