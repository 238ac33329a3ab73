"""Writes tiny.pt, the fuzz seed for PyTorch `.pt` weights: the state_dict of a 4-8-2 MLP
(torch.save's zip format). Run from this folder: python3 make_pt.py (torch 2.x)."""
import torch

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
torch.save(net.state_dict(), "tiny.pt")
