"""PyTorch peer of bench/engine.ts: the same measurements, by the same names, on the same machine.

    python3 bench/torch_engine.py [--threads N] [--reps 5] [--gan-steps 3]   # one JSON line with medians
    python3 bench/torch_engine.py --serve [--threads N]                      # one timing per request line

--serve reads measurement names on stdin and answers each with one JSON line {"ms": ...} (one call,
warmed up the first time a name is seen), so bench/engine.ts can interleave tfjs and PyTorch calls and
both see the same machine load. Tensors are NCHW (PyTorch's default layout); the small G and D mirror
bench/_small_gan.ts layer for layer (nearest-up + conv, conv + 2x2 average pool, minibatch stddev, R1
on the reals every D step, Adam(lr 1e-3, betas (0, 0.99), eps 1e-8)).
"""
import argparse
import json
import math
import statistics
import sys
import time

CONV_SHAPES = [(4, 512, 512), (8, 512, 512), (32, 256, 256), (64, 128, 128)]  # (H=W, Cin, Cout), batch 8
GAN_NAME = 'G+D+R1 step 32^2 fmaps 128 mb 16 (hand-built)'


def measurements(torch, F):
    """name -> function running one call and returning its wall time in ms."""
    B = 8
    out = {}

    def timer(fn):
        def run():
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1000
        return run

    for hw, cin, cout in CONV_SHAPES:
        x = torch.randn(B, cin, hw, hw)
        w = torch.randn(cout, cin, 3, 3)
        dy = torch.randn(B, cout, hw, hw)
        tag = f'conv {hw}x{hw} {cin}->{cout}'
        out[f'{tag} fwd'] = timer(lambda x=x, w=w: F.conv2d(x, w, padding=1))
        # Eager PyTorch keeps no packed copy of a filter between calls, so a new filter costs the same call.
        out[f'{tag} fwd (new filter)'] = out[f'{tag} fwd']
        out[f'{tag} bwd-input'] = timer(lambda x=x, w=w, dy=dy: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1))
        out[f'{tag} bwd-filter'] = timer(lambda x=x, w=w, dy=dy: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1))

    a, b = torch.ones(()), torch.ones(())

    def dispatch():
        n = 3000
        t0 = time.perf_counter()
        for _ in range(n):
            torch.add(a, b)
        return (time.perf_counter() - t0) * 1e6 / n  # microseconds per op
    out['per-op dispatch (1x1 add)'] = dispatch
    m1, m2 = torch.randn(1024, 1024), torch.randn(1024, 1024)
    out['matmul 1024^3'] = timer(lambda: m1 @ m2)
    out[GAN_NAME] = timer(small_gan_step(torch, F))
    return out


def small_gan_step(torch, F, res=32, f=128, latent=128, mb=16, gamma=10.0):
    n_up = int(math.log2(res // 4))

    def he(*shape):  # conv [out, in, kh, kw]; dense [in, out]
        fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
        return torch.nn.Parameter(torch.randn(*shape) * math.sqrt(2 / fan_in))

    def zeros(n):
        return torch.nn.Parameter(torch.zeros(n))

    G = {'dense': he(latent, 16 * f), 'denseB': zeros(16 * f), 'conv4': he(f, f, 3, 3), 'conv4B': zeros(f),
         'rgb': he(3, f, 1, 1), 'rgbB': zeros(3)}
    D = {'rgb': he(f, 3, 1, 1), 'rgbB': zeros(f), 'conv4': he(f, f + 1, 3, 3), 'conv4B': zeros(f),
         'dense0': he(16 * f, f), 'dense0B': zeros(f), 'dense1': he(f, 1), 'dense1B': zeros(1)}
    for i in range(n_up):
        G[f'c{i}'], G[f'c{i}B'] = he(f, f, 3, 3), zeros(f)
        D[f'c{i}'], D[f'c{i}B'] = he(f, f, 3, 3), zeros(f)

    def lrelu(t):
        return F.leaky_relu(t, 0.2)

    def gen(z):
        x = lrelu(z @ G['dense'] + G['denseB']).view(-1, f, 4, 4)
        x = lrelu(F.conv2d(x, G['conv4'], G['conv4B'], padding=1))
        for i in range(n_up):
            x = lrelu(F.conv2d(F.interpolate(x, scale_factor=2, mode='nearest'), G[f'c{i}'], G[f'c{i}B'], padding=1))
        return F.conv2d(x, G['rgb'], G['rgbB'])

    def mbstd(x, group=4):
        n, c, h, w = x.shape
        g = min(group, n)
        y = x.view(g, n // g, c, h, w)
        y = torch.sqrt(((y - y.mean(0, keepdim=True)) ** 2).mean(0) + 1e-8).mean(dim=(1, 2, 3)).repeat(g)
        return torch.cat([x, y.view(n, 1, 1, 1).expand(n, 1, h, w)], 1)

    def disc(img):
        x = lrelu(F.conv2d(img, D['rgb'], D['rgbB']))
        for i in range(n_up):
            x = F.avg_pool2d(lrelu(F.conv2d(x, D[f'c{i}'], D[f'c{i}B'], padding=1)), 2)
        x = lrelu(F.conv2d(mbstd(x), D['conv4'], D['conv4B'], padding=1))
        h = lrelu(x.flatten(1) @ D['dense0'] + D['dense0B'])
        return h @ D['dense1'] + D['dense1B']

    d_opt = torch.optim.Adam(D.values(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8)
    g_opt = torch.optim.Adam(G.values(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8)
    reals = torch.rand(mb, 3, res, res) * 2 - 1

    def step():
        with torch.no_grad():
            fakes = gen(torch.randn(mb, latent))
        x = reals.clone().requires_grad_(True)
        real_scores = disc(x)
        g, = torch.autograd.grad(real_scores.sum(), x, create_graph=True)
        loss = F.softplus(disc(fakes)).mean() + F.softplus(-real_scores).mean() + (g * g).sum() * (gamma * 0.5 / mb)
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
        d_opt.step()
        g_loss = F.softplus(-disc(gen(torch.randn(mb, latent)))).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()  # D's gradients from this pass are dropped by the next D step's zero_grad
        g_opt.step()
        return float(loss.detach()), float(g_loss.detach())
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--gan-steps', type=int, default=3)
    ap.add_argument('--serve', action='store_true')
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(json.dumps({'error': f'torch not importable: {e}'}), flush=True)
        return 0
    torch.set_num_threads(args.threads)  # PyTorch may default to 1 thread
    torch.manual_seed(0)
    ms = measurements(torch, F)
    if args.serve:
        print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
        warmed = set()
        for line in sys.stdin:
            name = line.strip()
            if name not in ms:
                print(json.dumps({'error': f'unknown measurement {name!r}'}), flush=True)
                continue
            if name not in warmed:
                ms[name]()
                warmed.add(name)
            print(json.dumps({'ms': ms[name]()}), flush=True)
        return 0
    result = {}
    for name, fn in ms.items():
        reps = args.gan_steps if name == GAN_NAME else args.reps
        fn()
        result[name] = statistics.median(fn() for _ in range(reps))
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'ms': result}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
