// The training step of the classic baselines (configs gan-mlp, dcgan, wgan-gp; training/networks_baseline.ts)
// inside NVIDIA's loop: per minibatch, D_repeats D steps (WGAN-GP's n_critic) each followed by the Gs
// update, then one G step — NVIDIA's order, with fresh latents for every step, where the PyTorch
// scripts reuse one batch of fakes for both steps.
//
// What differs from the StyleGAN step: both networks run in training mode (batch norm on batch
// statistics, updating the running ones), as a PyTorch module in .train(); D is called once on the
// reals and once on the fakes, so each gets its own batch statistics as in the DCGAN tutorial. Gs is
// updated with each D step as NVIDIA's (G_smoothing_kimg 0 → β 0: a plain copy of G, running statistics
// included, since non-trainables are always copied) and generates in inference mode. There is no lod:
// the networks refuse any lod but 0.
import * as tf from '@tensorflow/tfjs';
import { D_LOSSES, G_LOSSES, type DiscriminatorFn, type GeneratorFn } from './loss.ts';
import { Gs_beta } from './misc.ts';
import { isBaselineDiscriminator, isBaselineGenerator, type BaselineDiscriminator, type BaselineGenerator } from './networks_baseline.ts';
import { Optimizer } from './optimizer.ts';
import type { TrainingSchedule } from './schedule.ts';
import type { TrainConfig } from './train_config.ts';
import { fakesName, minimize, type MinibatchSource, type StepOutput, type Trainer, type TrainerNetworks } from './train_step.ts';

export class BaselineTrainer implements Trainer {
  readonly G_opt: Optimizer;
  readonly D_opt: Optimizer;
  readonly initialTick = 0;
  private readonly G: BaselineGenerator;
  private readonly D: BaselineDiscriminator;

  constructor(private readonly c: TrainConfig, private readonly nets: TrainerNetworks) {
    if (!isBaselineGenerator(nets.G) || !isBaselineDiscriminator(nets.D)) {
      throw new Error(`baseline training needs G_mlp/G_dcgan and D_mlp/D_dcgan, got ${nets.G.constructor.name} / ${nets.D.constructor.name}`);
    }
    if (!Object.hasOwn(G_LOSSES, c.G_loss.func_name)) throw new Error(`unknown G loss ${c.G_loss.func_name}`);
    if (!Object.hasOwn(D_LOSSES, c.D_loss.func_name)) throw new Error(`unknown D loss ${c.D_loss.func_name}`);
    this.G = nets.G;
    this.D = nets.D;
    this.G_opt = new Optimizer([...nets.G.trainables.values()], { name: 'TrainG', ...c.G_opt });
    this.D_opt = new Optimizer([...nets.D.trainables.values()], { name: 'TrainD', ...c.D_opt });
  }

  initialFakesName(nimg: number): string {
    return fakesName(nimg);
  }

  setLod(lod: number): void {
    this.G.setLod(lod);
    this.D.setLod(lod);
  }

  private readonly generator: GeneratorFn = (z, l) => this.G.run(z as tf.Tensor2D, l as tf.Tensor2D, { is_training: true });
  private readonly discriminator: DiscriminatorFn = (x, l) => this.D.run(x as tf.Tensor4D, l as tf.Tensor2D, { is_training: true });

  private latents(n: number): tf.Tensor2D {
    return tf.randomNormal([n, this.G.latent_size], 0, 1, 'float32', this.nets.rng.randint(0, 2 ** 31 - 1));
  }

  async minibatch(src: MinibatchSource, sched: TrainingSchedule): Promise<{ steps: StepOutput[]; nimg: number }> {
    const { c, nets } = this;
    const steps: StepOutput[] = [];
    let nimg = 0;
    for (let d = 0; d < c.train.D_repeats; d++) {
      const { reals, labels } = await src.next();
      try {
        const n = reals.shape[0];
        steps.push(minimize(this.D_opt, 'D', 'Loss/D', () => {
          const latents = this.latents(n);
          const mixing_factors = /gp$/.test(c.D_loss.func_name) ? tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', nets.rng.randint(0, 2 ** 31 - 1)) : undefined;
          return D_LOSSES[c.D_loss.func_name]!(this.generator, this.discriminator, { latents, reals, labels, opt: this.D_opt, mixing_factors }, c.D_loss.args);
        }, sched.D_lrate));
        nets.Gs.setupAsMovingAverageOf(nets.G, Gs_beta(n, c.train.G_smoothing_kimg));
      } finally {
        tf.dispose([reals, labels]);
      }
      nimg += sched.minibatch;
    }
    const labels = src.randomLabels(sched.minibatch);
    try {
      steps.push(minimize(this.G_opt, 'G', 'Loss/G', () => {
        return G_LOSSES[c.G_loss.func_name]!(this.generator, this.discriminator, { latents: this.latents(sched.minibatch), labels, opt: this.G_opt }, c.G_loss.args);
      }, sched.G_lrate));
    } finally {
      labels.dispose();
    }
    return { steps, nimg };
  }

  dispose(): void {
    this.G_opt.dispose();
    this.D_opt.dispose();
  }
}
