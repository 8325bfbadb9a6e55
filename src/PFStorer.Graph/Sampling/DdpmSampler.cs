using PFStorer.Graph.Backends;
using PFStorer.Kernels;

namespace PFStorer.Graph.Sampling;

/// <summary>How the sampler splits the latent and guides the prediction.</summary>
/// <param name="TileSize">Latent tile side (upstream: input_size/8 = 64); a latent larger than this on either side is sampled by tiled aggregation.</param>
/// <param name="TileOverlap">Latent pixels shared by neighbouring tiles (upstream 32).</param>
/// <param name="GuidanceScale">λcfg; 1 runs the positive prompt alone (no negative branch).</param>
public sealed record SamplerSettings(int TileSize = 64, int TileOverlap = 32, float GuidanceScale = 1f);

/// <summary>What the sampler exposes after each step (tensors valid only during the callback).</summary>
public readonly record struct SamplerStep(int Index, int Count, long Timestep, Tensor XIn, Tensor Eps, Tensor X0, Tensor Mean, Tensor XOut);

/// <summary>The latent became NaN or Inf during sampling; says at which step (1-based, in sampling order) and timestep.</summary>
public sealed class NonFiniteLatentException(int step, int steps, long timestep, long count, long numel)
    : ArithmeticException($"the latent became non-finite at sampling step {step} of {steps} (timestep {timestep}): {count} of {numel} values are NaN or Inf")
{
    public int Step { get; } = step;
}

/// <summary>
/// The respaced DDPM reverse process of StableSR (docs/sampling.md): for k = N−1 … 0 the noise is
/// predicted at the original timestep (tile by tile with Gaussian aggregation when the latent exceeds one tile, with both
/// CFG branches in one batch), then x̂₀, the posterior mean and the next latent follow with the coefficients of index k.
/// Every buffer of the loop is allocated before the first step, so steps after the first take nothing new from the pool
/// beyond what the model itself returns to it. Not thread-safe: one sampler per concurrent run.
/// </summary>
public sealed class DdpmSampler(DiffusionSchedule schedule, SamplerSettings settings)
{
    public DiffusionSchedule Schedule { get; } = schedule;
    public SamplerSettings Settings { get; } = settings;
    public bool Guided => Settings.GuidanceScale != 1f;

    /// <summary>
    /// Samples from x_T. lqLatent is the clean LQ latent z_lq (struct condition), shape of xT. context is [n,77,D] for
    /// the positive prompt, negative the same for the negative prompt (required when guided), each with n = 1 or the batch.
    /// Returns the final latent z₀ (caller disposes).
    /// </summary>
    public Tensor Sample(INoisePredictor model, Tensor xT, Tensor lqLatent, Tensor context, Tensor? negative,
        INoiseSource noise, Action<SamplerStep>? observer = null)
    {
        if (xT.Rank != 4 || !xT.Shape.SequenceEqual(lqLatent.Shape))
            throw new ArgumentException($"x_T {xT.ShapeString} and the LQ latent {lqLatent.ShapeString} must be the same [B,C,h,w]");
        if (Guided && negative == null) throw new ArgumentException("guidance scale ≠ 1 needs a negative prompt context");
        using var work = new Workspace(this, xT, lqLatent, context, Guided ? negative : null);
        var be = xT.Backend;
        be.Copy(xT, work.X);
        for (int k = Schedule.Steps - 1; k >= 0; k--)
        {
            long t = Schedule.Timesteps[k];
            work.PredictNoise(model, t);
            var c = Schedule.Coefficients(k);
            if (c.NoiseStd != 0) noise.Draw(work.Noise, NoiseStreams.Step(k));
            bool observe = observer != null;
            be.PosteriorStep(work.X, work.Eps, c.NoiseStd != 0 ? work.Noise : null, c, work.XNext,
                observe ? work.X0 : null, observe ? work.Mean : null);
            observer?.Invoke(new SamplerStep(k, Schedule.Steps, t, work.X, work.Eps, work.X0, work.Mean, work.XNext));
            ThrowIfNonFinite(work.XNext, Schedule.Steps - k, t);
            work.Swap();
        }
        return work.TakeResult();
    }

    /// <summary>
    /// The NaN guard: once a latent holds NaN or Inf every later step does too and the decoded image is black, so stop
    /// at the step where it first happens (a latent is small: reading it back costs little next to the model).
    /// </summary>
    private void ThrowIfNonFinite(Tensor latent, int step, long timestep)
    {
        long bad = Checkpoints.TensorValues.Count(latent.ToFloatArray()).NonFinite;
        if (bad > 0) throw new NonFiniteLatentException(step, Schedule.Steps, timestep, bad, latent.Numel);
    }

    /// <summary>The loop's buffers, sized once per call: latents, noise, the model batch and the tile blend weights.</summary>
    private sealed class Workspace : IDisposable
    {
        private readonly DdpmSampler _owner;
        private readonly Tensor _lq;
        private readonly TileWindow[] _windows;
        private readonly Tensor[] _weights;
        private readonly Tensor _batchContext;
        private readonly Tensor _batchX, _batchLq, _batchEps;   // model batch: [B] or [neg B ; pos B] of one window
        private readonly Tensor? _tileEps;                       // guided window prediction before blending
        private readonly int _batch;
        private Tensor? _x, _xNext;
        private readonly List<Tensor> _owned = [];

        public Tensor X => _x!;
        public Tensor XNext => _xNext!;
        public Tensor Eps { get; }
        public Tensor Noise { get; }
        public Tensor X0 { get; }
        public Tensor Mean { get; }

        public Workspace(DdpmSampler owner, Tensor xT, Tensor lq, Tensor context, Tensor? negative)
        {
            _owner = owner;
            _lq = lq;
            var shape = xT.ShapeArray();
            _batch = shape[0];
            int h = shape[2], w = shape[3], tile = owner.Settings.TileSize;
            var dev = xT.Device;
            Tensor New(int[] s) { var t = Tensor.Empty(s, DType.F32, dev); _owned.Add(t); return t; }
            _x = Tensor.Empty(shape, DType.F32, dev);
            _xNext = Tensor.Empty(shape, DType.F32, dev);
            Eps = New(shape);
            Noise = New(shape);
            X0 = New(shape);
            Mean = New(shape);

            _windows = TileLayout.Windows(TileLayout.CanvasStarts(h, tile, owner.Settings.TileOverlap),
                TileLayout.CanvasStarts(w, tile, owner.Settings.TileOverlap), h, w, tile);
            var win = _windows[0];
            _weights = Tiled
                ? TileLayout.NormalisedWeights(_windows, h, w).Select(a => { var t = Tensor.FromSpan<float>(a, DType.F32, [win.Height, win.Width], dev); _owned.Add(t); return t; }).ToArray()
                : [];
            int branches = negative == null ? 1 : 2;
            int[] batchShape = [branches * _batch, shape[1], win.Height, win.Width];
            _batchX = New(batchShape);
            _batchLq = New(batchShape);
            _batchEps = New(batchShape);
            _tileEps = Tiled && branches == 2 ? New([_batch, shape[1], win.Height, win.Width]) : null;

            // Context batch [neg × B ; pos × B] (upstream order: unconditional first), built once.
            int tokens = context.Dim(1), width = context.Dim(2);
            _batchContext = New([branches * _batch, tokens, width]);
            for (int b = 0; b < _batch; b++)
            {
                if (negative != null) CopyRow(negative, b, _batchContext, b);
                CopyRow(context, b, _batchContext, (branches - 1) * _batch + b);
            }
        }

        private bool Tiled => _windows.Length > 1;

        private static void CopyRow(Tensor source, int b, Tensor destination, int row)
        {
            using var src = source.Slice(0, source.Dim(0) == 1 ? 0 : b, 1);
            using var dst = destination.Slice(0, row, 1);
            source.Backend.Copy(src, dst);
        }

        public void PredictNoise(INoisePredictor model, long t)
        {
            var be = X.Backend;
            if (!Tiled)
            {
                PredictWindow(model, t, _windows[0], Eps);
                return;
            }
            be.Fill(Eps, 0);
            for (int i = 0; i < _windows.Length; i++)
            {
                var win = _windows[i];
                var target = _tileEps ?? _batchEps;
                PredictWindow(model, t, win, target);
                be.AccumulateTile(target, _weights[i], Eps, win.Top, win.Left);
            }
        }

        // ε of one window into `into` ([B,...] of the window): both CFG branches run as one model batch.
        private void PredictWindow(INoisePredictor model, long t, TileWindow win, Tensor into)
        {
            var be = X.Backend;
            using var xw = Crop(X, win);
            using var lqw = Crop(_lq, win);
            int branches = _batchX.Dim(0) / _batch;
            for (int br = 0; br < branches; br++)
            {
                using var xs = _batchX.Slice(0, br * _batch, _batch);
                using var ls = _batchLq.Slice(0, br * _batch, _batch);
                be.Copy(xw, xs);
                be.Copy(lqw, ls);
            }
            model.PredictNoise(_batchX, _batchLq, _batchContext, t, branches == 2 ? _batchEps : into);
            if (branches == 2)
            {
                using var neg = _batchEps.Slice(0, 0, _batch);
                using var pos = _batchEps.Slice(0, _batch, _batch);
                be.Guidance(neg, pos, _owner.Settings.GuidanceScale, into);
            }
        }

        private static Tensor Crop(Tensor t, TileWindow win)
        {
            using var rows = t.Slice(2, win.Top, win.Height);
            return rows.Slice(3, win.Left, win.Width);
        }

        public void Swap() => (_x, _xNext) = (_xNext, _x);

        /// <summary>Hands the current latent to the caller; the workspace no longer disposes it.</summary>
        public Tensor TakeResult()
        {
            var r = _x!;
            _x = null;
            return r;
        }

        public void Dispose()
        {
            _x?.Dispose();
            _xNext?.Dispose();
            foreach (var t in _owned) t.Dispose();
        }
    }
}
