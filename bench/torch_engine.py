"""PyTorch peer of bench/engine.ts: the same measurements on the same machine, printed as one JSON line.

    python3 bench/torch_engine.py [--threads N] [--reps 5] [--gan-steps 3]

Row names match bench/engine.ts. Tensors are NCHW (PyTorch's default layout); the small G and D mirror
bench/_small_gan.ts layer for layer (nearest-up + conv, conv + 2x2 mean-down, minibatch stddev, R1 on
the reals every D step, Adam(lr 1e-3, betas (0, 0.99), eps 1e-8)).
"""
import argparse
import json
import math
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--gan-steps', type=int, default=3)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(json.dumps({'error': f'torch not importable: {e}'}))
        return
    torch.set_num_threads(args.threads)  # PyTorch may default to 1 thread here
    torch.manual_seed(0)
    ms = {}

    def timed(fn, reps):
        fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts)

    B = 8
    with torch.no_grad():
        for hw, cin, cout in [(4, 512, 512), (8, 512, 512), (32, 256, 256), (64, 128, 128)]:
            x = torch.randn(B, cin, hw, hw)
            w = torch.randn(cout, cin, 3, 3)
            dy = torch.randn(B, cout, hw, hw)
            tag = f'conv {hw}x{hw} {cin}->{cout}'
            ms[f'{tag} fwd'] = timed(lambda: F.conv2d(x, w, padding=1), args.reps)
            ms[f'{tag} bwd-input'] = timed(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1), args.reps)
            ms[f'{tag} bwd-filter'] = timed(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1), args.reps)
        a, b = torch.ones(()), torch.ones(())
        n = 3000
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                torch.add(a, b)
            runs.append((time.perf_counter() - t0) * 1e6 / n)
        ms['per-op dispatch (1x1 add)'] = statistics.median(runs)
        m1, m2 = torch.randn(1024, 1024), torch.randn(1024, 1024)
        ms['matmul 1024^3'] = timed(lambda: m1 @ m2, args.reps)

    ms['G+D+R1 step 32^2 fmaps 128 mb 16 (hand-built)'] = gan_step_ms(torch, F, args.gan_steps)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'ms': ms}))


def gan_step_ms(torch, F, steps, res=32, f=128, latent=128, mb=16, gamma=10.0):
    n_up = int(math.log2(res // 4))

    def he(*shape):  # [out, in, kh, kw] or [in, out] for dense
        fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
        return torch.nn.Parameter(torch.randn(*shape) * math.sqrt(2 / fan_in))

    def zeros(n):
        return torch.nn.Parameter(torch.zeros(n))

    G = {'dense': he(latent, 16 * f), 'denseB': zeros(16 * f), 'conv4': he(f, f, 3, 3), 'conv4B': zeros(f),
         'rgb': he(3, f, 1, 1), 'rgbB': zeros(3)}
    for i in range(n_up):
        G[f'c{i}'], G[f'c{i}B'] = he(f, f, 3, 3), zeros(f)
    D = {'rgb': he(f, 3, 1, 1), 'rgbB': zeros(f), 'conv4': he(f, f + 1, 3, 3), 'conv4B': zeros(f),
         'dense0': he(16 * f, f), 'dense0B': zeros(f), 'dense1': he(f, 1), 'dense1B': zeros(1)}
    for i in range(n_up):
        D[f'c{i}'], D[f'c{i}B'] = he(f, f, 3, 3), zeros(f)
    lrelu = lambda t: F.leaky_relu(t, 0.2)

    def gen(z):
        x = lrelu(z @ G['dense'] + G['denseB']).view(-1, f, 4, 4)  # same element order as NHWC [4,4,f]? timing only
        x = lrelu(F.conv2d(x, G['conv4'], G['conv4B'], padding=1))
        for i in range(n_up):
            x = F.interpolate(x, scale_factor=2, mode='nearest')
            x = lrelu(F.conv2d(x, G[f'c{i}'], G[f'c{i}B'], padding=1))
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
        g_loss.backward()  # D's grads from here are discarded by the next D step's zero_grad
        g_opt.step()
        return float(loss.detach()), float(g_loss.detach())

    step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


if __name__ == '__main__':
    sys.exit(main())
