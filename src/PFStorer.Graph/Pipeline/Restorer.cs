using PFStorer.Graph.Autograd;
using PFStorer.Graph.Backends;
using PFStorer.Images;
using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Sampling;
using PFStorer.Kernels;

namespace PFStorer.Graph.Pipeline;

/// <summary>Where a restoration is: sampling step (1-based, of Steps) within pixel patch (1-based, of Patches).</summary>
public readonly record struct RestoreProgress(int Step, int Steps, int Patch, int Patches);

/// <summary>
/// StableSR restoration with PFStorer's guidance (docs/architecture.md, docs/sampling.md), created once from weights and reused
/// for many images. Thread-safe by serialisation: concurrent calls run one at a time (the weights are shared and the
/// backends already use every core), so one instance can serve a whole batch or several callers — and several identities:
/// an identity in the settings is attached for its call only (docs/identity-files.md); its reference-stream cache stays
/// until a call comes with other identity inputs or none.
/// </summary>
public sealed class Restorer : IDisposable
{
    private readonly StableSRWeights _weights;
    private readonly StableSRNoisePredictor _predictor;
    private readonly Dictionary<string, Tensor> _contexts = [];
    private readonly Lock _gate = new();
    private string? _fingerprint;
    private ReferenceStreamCache? _referenceStreams;

    public Device Device { get; }
    public Precision Precision { get; }
    public StableSRConfig Config => _weights.Config;
    /// <summary>The latent tile used when settings leave it open: image_size / 8 of the model (64 for the 512 model).</summary>
    public int DefaultTileSize => DefaultTileSizeOf(_weights.Config);

    /// <summary>image_size / 8 of a model, at least 8: the latent side it was trained on (and identities are learned at).</summary>
    public static int DefaultTileSizeOf(StableSRConfig config) => Math.Max(8, config.ImageSize / 8);

    /// <summary>
    /// Checks the settings against the model <paramref name="modelPath"/> would load (its default tile), before any
    /// weights are read, so a bad --tile-overlap is refused in a moment rather than after minutes of loading.
    /// </summary>
    public static void Validate(RestoreSettings settings, string modelPath)
    {
        settings.Validate();
        if (settings.TileOverlap is { } o && settings.TileSize == null && File.Exists(modelPath)
            && DefaultTileSizeOf(StableSRWeights.ConfigFor(modelPath)) is var tile && o >= tile)
            throw new ArgumentException($"--tile-overlap {o} must be below the tile size, {tile} for this model (or set --tile-size)");
    }

    /// <summary>Takes ownership of <paramref name="weights"/>.</summary>
    public Restorer(StableSRWeights weights, DeviceChoice device = DeviceChoice.Auto, Precision precision = Precision.Fp32)
    {
        Device = ResolveDevice(device, precision);
        Precision = precision;
        _weights = weights;
        if (Device != Graph.Device.Cpu) weights.MoveTo(Device);   // a no-op for weights loaded onto the device (Load)
        _predictor = new StableSRNoisePredictor(weights.Model);
    }

    public static Restorer Load(string modelPath, string vaePath, DeviceChoice device = DeviceChoice.Auto, Precision precision = Precision.Fp32)
    {
        var target = ResolveDevice(device, precision);   // fail before reading gigabytes, and read them straight onto the device
        return new Restorer(StableSRWeights.Load(modelPath, vaePath, target), device, precision);
    }

    /// <summary>
    /// cpu and auto run on the CPU reference backend; cuda opens the CUDA backend (or fails with its reason) and the
    /// weights load straight into its memory. auto stays on the CPU until the GPU parity suite has run on real hardware: the CUDA path is
    /// opt-in so an unverified device never changes a user's results silently. bf16 is refused: the F ops compute and
    /// allocate f32, so bf16 storage is reachable only through the backend directly.
    /// </summary>
    public static Device ResolveDevice(DeviceChoice choice, Precision precision)
    {
        if (precision == Precision.Bf16) throw new NotSupportedException("--precision bf16 is not wired into the model ops yet (they compute in fp32); use --precision fp32");
        if (choice != DeviceChoice.Cuda) return Graph.Device.Cpu;
        var cuda = CudaBackend.TryCreate(out var reason);
        return cuda?.Device ?? throw new NotSupportedException($"--device cuda: {reason}; use --device cpu");
    }

    /// <summary>
    /// Restores one image: bicubic upscale by max(8·tile / short side, upscale), reflect padding to a multiple of 32,
    /// the outer pixel split when a side exceeds the VAE tile (Gaussian-blended, each patch with the same seed as
    /// upstream), then back to exactly upscale × the input size. The output has the input's layout (see
    /// <see cref="MatchLayout"/>); <paramref name="output"/> U8 gives upstream's 8-bit result, F32 the unrounded one (for
    /// 16-bit files).
    /// </summary>
    public Image Restore(Image input, RestoreSettings settings, Action<RestoreProgress>? progress = null, CancellationToken cancel = default,
        PixelKind output = PixelKind.U8)
    {
        var (unit, oh, ow) = RestorePlanes(ToPlanes(input), input.Height, input.Width, settings, progress, cancel);
        return MatchLayout(input, output == PixelKind.U8 ? ToImage(unit, oh, ow) : ToImageF32(unit, oh, ow));
    }

    /// <summary>
    /// <see cref="Restore"/> on planar RGB: <paramref name="lq"/> h×w in [−1, 1] (<see cref="ToPlanes"/>) → planar RGB in
    /// [0, 1] of upscale × the size, before the conversion to samples (so callers can composite restorations exactly).
    /// </summary>
    internal (float[] Unit, int Height, int Width) RestorePlanes(float[] lq, int h, int w, RestoreSettings settings,
        Action<RestoreProgress>? progress, CancellationToken cancel)
    {
        settings.Validate();
        lock (_gate)
        {
            using var _ = GradMode.NoGrad();
            int tile = TileFor(settings, h, w);
            float s = Math.Max(8f * tile / Math.Min(h, w), settings.Upscale);
            // The working image (≥ the output: s ≥ upscale) must fit; a thin input brought up to one tile can be huge too.
            double workW = Math.Floor(w * (double)s), workH = Math.Floor(h * (double)s);
            if (workW * workH > MaxPixels)
                throw new ArgumentException($"--upscale {settings.Upscale}: {w}x{h} would be processed at {workW}x{workH} pixels; the limit is {MaxPixels} pixels");
            int uh = (int)(h * s), uw = (int)(w * s);
            var up = TorchResize.Bicubic(lq, 3, h, w, uh, uw);
            Clamp(up, -1, 1);
            int ph = uh % 32 == 0 ? 0 : (uh / 32 + 1) * 32 - uh, pw = uw % 32 == 0 ? 0 : (uw / 32 + 1) * 32 - uw;
            var padded = TorchResize.ReflectPadBottomRight(up, 3, uh, uw, ph, pw);
            int H = uh + ph, W = uw + pw;

            var windows = TileLayout.Windows(TileLayout.SplitterStarts(H, settings.VaeTileSize, settings.VaeTileStride),
                TileLayout.SplitterStarts(W, settings.VaeTileSize, settings.VaeTileStride), H, W, settings.VaeTileSize);
            var weights = TileLayout.NormalisedWeights(windows, H, W);
            var gathered = new float[3 * H * W];
            for (int p = 0; p < windows.Length; p++)
            {
                var win = windows[p];
                using var patch = Tensor.FromSpan<float>(CropPlanes(padded, 3, H, W, win), DType.F32, [1, 3, win.Height, win.Width], Device);
                int patchIndex = p + 1;
                using var restored = RestorePatch(patch, settings with { TileSize = tile, TileOverlap = OverlapFor(settings, tile) }, new PhiloxNoise(settings.Seed), step =>
                {
                    cancel.ThrowIfCancellationRequested();
                    progress?.Invoke(new RestoreProgress(step.Count - step.Index, step.Count, patchIndex, windows.Length));
                });
                var r = restored.ToFloatArray();
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < win.Height; y++)
                        for (int x = 0; x < win.Width; x++)
                            gathered[(c * H + win.Top + y) * W + win.Left + x] += r[(c * win.Height + y) * win.Width + x] * weights[p][y * win.Width + x];
            }

            for (int i = 0; i < gathered.Length; i++) gathered[i] = Math.Clamp((gathered[i] + 1f) / 2f, 0f, 1f);
            var cropped = CropPlanes(gathered, 3, H, W, new TileWindow(0, 0, uh, uw));
            int oh = (int)(h * settings.Upscale), ow = (int)(w * settings.Upscale);
            if (oh != uh || ow != uw)
            {
                cropped = TorchResize.Bicubic(cropped, 3, uh, uw, oh, ow);
                Clamp(cropped, 0, 1);
            }
            return (cropped, oh, ow);
        }
    }

    /// <summary>
    /// What users of GFPGAN and Real-ESRGAN expect back: a gray input gives a gray output (the RGB restoration turned to
    /// BT.601 luma), and an input with alpha gets its alpha plane back, upscaled on its own with the same bicubic as the
    /// colour (the model never sees it).
    /// </summary>
    public static Image MatchLayout(Image input, Image restoredRgb)
    {
        var colour = input.ColorChannels == 1 ? ImageChannels.RgbToGray(restoredRgb) : restoredRgb;
        if (!input.HasAlpha) return colour;
        var alpha = TorchResize.Bicubic(ImageChannels.AlphaPlane(input), 1, input.Height, input.Width, restoredRgb.Height, restoredRgb.Width);
        return ImageChannels.WithAlpha(colour, alpha);
    }

    /// <summary>
    /// The diffusion part on one patch lq [1,3,H,W] in [−1,1] (H, W multiples of 8), as StableSR's DDPM scripts run it:
    /// CFW-VAE encode (posterior sample → z_lq, encoder features for CFW), x_T = pure noise when the latent is one tile
    /// (script A) or q_sample(z_lq, 999) otherwise (script B), the respaced reverse process, CFW decode with dec_w and the
    /// colour fix against lq. Returns the colour-fixed image in [−1,1] before clamping (caller disposes). The CFW
    /// checkpoint's encoder is the frozen SD encoder (CFW training freezes it), so its one encode serves both uses.
    /// <paramref name="trace"/> sees the intermediate tensors under the fixture's names.
    /// </summary>
    public Tensor RestorePatch(Tensor lq, RestoreSettings settings, INoiseSource noise, Action<SamplerStep>? observer = null,
        Action<string, Tensor>? trace = null)
    {
        lock (_gate)
        {
            using var _ = GradMode.NoGrad();
            int tile = settings.TileSize ?? DefaultTileSize;
            float scale = Config.ScaleFactor;
            using var encoding = _weights.CfwVae.Encode(lq);
            using var posterior = encoding.Posterior();
            using var postNoise = Tensor.Empty(posterior.Mean.Shape, DType.F32, Device);
            noise.Draw(postNoise, NoiseStreams.PosteriorSample);
            using var sample = posterior.Sample(postNoise);
            using var zLq = F.Scale(sample, scale);
            trace?.Invoke("init_latent", zLq);

            using var start = Tensor.Empty(zLq.Shape, DType.F32, Device);
            noise.Draw(start, NoiseStreams.Start);
            bool oneTile = zLq.Dim(2) <= tile && zLq.Dim(3) <= tile;
            using var xT = oneTile ? start.Share() : QSampleAtLastStep(zLq, start);

            bool guided = settings.Cfg != 1f;
            var negative = guided ? Context(settings.NegativePrompt) : null;
            var sampler = new DdpmSampler(DiffusionSchedule.UpstreamFloat32(settings.Steps), new SamplerSettings(tile, OverlapFor(settings, tile), settings.Cfg));
            using var identity = settings.Identity == null ? null : Attach(settings, tile, negative);
            if (identity == null) ReleaseReferenceStreams();
            using var z0 = identity != null
                ? sampler.Sample(identity.Predictor, xT, zLq, identity.Positive, negative, noise, observer)
                : sampler.Sample(_predictor, xT, zLq, Context(settings.Prompt), negative, noise, observer);
            trace?.Invoke("samples", z0);

            using var decoded = _weights.CfwVae.DecodeFirstStage(z0, scale, encoding.CfwFeatures, settings.DecoderWeight);
            trace?.Invoke("decoded", decoded);
            return ColorFix.Apply(settings.ColorFix, decoded, lq);
        }
    }

    private IdentityAttachment Attach(RestoreSettings settings, int tile, Tensor? negative)
    {
        var identity = settings.Identity!;
        _fingerprint ??= BaseFingerprint.Of(_weights.Model);
        if (identity.BaseFingerprint != _fingerprint)
            throw new ArgumentException($"{identity.Source}: made for base model {identity.BaseFingerprint}, but this restorer's base model is {_fingerprint}");
        return new IdentityAttachment(_weights.Model, settings, tile, negative, Device, ReferenceStreamsFor);
    }

    /// <summary>
    /// The reference-stream cache for an identity's inputs: the current one while the identity, reference, prompts and
    /// budget stay the same (so a batch of images shares it), else a fresh one — the old one is freed first.
    /// </summary>
    private ReferenceStreamCache ReferenceStreamsFor(ReferenceStreamKey key)
    {
        if (_referenceStreams != null && _referenceStreams.Key.Matches(key)) return _referenceStreams;
        ReleaseReferenceStreams();
        return _referenceStreams = new ReferenceStreamCache(key);
    }

    private void ReleaseReferenceStreams()
    {
        _referenceStreams?.Dispose();
        _referenceStreams = null;
    }

    /// <summary>Memory held by the identity's reference-stream cache (0 without one), and its timesteps.</summary>
    public (long Bytes, int Steps) ReferenceStreamCacheUse
    {
        get { lock (_gate) return (_referenceStreams?.Bytes ?? 0, _referenceStreams?.Steps ?? 0); }
    }

    /// <summary>Reads an identity file made for this restorer's base model (docs/identity-files.md).</summary>
    public Identity ReadIdentity(string path)
    {
        return IdentityFile.Read(path, _weights.Model, Device);
    }


    /// <summary>Largest image a restoration may work on or produce (2^28 pixels, 16384² — about 3 GB of working planes).</summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>
    /// The latent tile for an h×w input: the one asked for (or the model's), capped to what the image needs. A tile
    /// larger than the input's latent short side at --upscale only enlarges the image to fill it (a 1024 tile made a
    /// 32×32 input 65536 pixels wide), so it is capped to that side rounded up to 8, never below the model's own tile.
    /// </summary>
    public int TileFor(RestoreSettings settings, int h, int w)
    {
        int tile = settings.TileSize ?? DefaultTileSize;
        double shortLatent = Math.Ceiling(Math.Min(h, w) * (double)settings.Upscale / 8);
        int cap = (int)Math.Max(DefaultTileSize, Math.Min(int.MaxValue / 2, Math.Ceiling(shortLatent / 8) * 8));
        return Math.Min(tile, cap);
    }

    /// <summary>The tile overlap: the one asked for, or half the tile; when the tile was capped below it, half the capped tile.</summary>
    public static int OverlapFor(RestoreSettings settings, int tile) => settings.TileOverlap is { } o && o < tile ? o : tile / 2;

    // Script B's start: √ᾱ₉₉₉·z_lq + √(1−ᾱ₉₉₉)·noise with the full schedule's float32 buffers.
    private static Tensor QSampleAtLastStep(Tensor zLq, Tensor noise)
    {
        var full = DiffusionSchedule.UpstreamFloat32(DiffusionSchedule.TrainSteps);
        using var a = F.Scale(zLq, (float)full.SqrtAlphasCumprod[^1]);
        using var b = F.Scale(noise, (float)full.SqrtOneMinusAlphasCumprod[^1]);
        return F.Add(a, b);
    }

    /// <summary>The text context [1,77,D] of a prompt, encoded once per restorer.</summary>
    private Tensor Context(string prompt)
    {
        if (_contexts.TryGetValue(prompt, out var c)) return c;
        using var ids = SimpleTokenizer.Default.TokenizeBatch([prompt], Device);
        c = _weights.Model.CondStageModel.Forward(ids);
        _contexts[prompt] = c;
        return c;
    }

    /// <summary>Interleaved 0–255 samples → planar RGB in [−1, 1] as the scripts read images: (v/255 − 0.5)/0.5.</summary>
    public static float[] ToPlanes(Image image)
    {
        var f = image.ToF32().F32!;
        int n = image.Width * image.Height, ch = image.Channels;
        var planes = new float[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
            {
                float v = f[i * ch + (image.ColorChannels == 1 ? 0 : c)];
                planes[c * n + i] = (v / 255f - 0.5f) / 0.5f;
            }
        return planes;
    }

    /// <summary>Planar RGB in [0, 1] → 8-bit RGB, truncating as numpy's astype(uint8) after ×255.</summary>
    public static Image ToImage(ReadOnlySpan<float> unit, int height, int width)
    {
        int n = height * width;
        var bytes = new byte[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) bytes[i * 3 + c] = (byte)(unit[c * n + i] * 255f);
        return Image.FromU8(bytes, width, height, 3);
    }

    /// <summary>Planar RGB in [0, 1] → RGB on the 0–255 float scale, unrounded.</summary>
    public static Image ToImageF32(ReadOnlySpan<float> unit, int height, int width)
    {
        int n = height * width;
        var f = new float[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) f[i * 3 + c] = unit[c * n + i] * 255f;
        return Image.FromF32(f, width, height, 3);
    }

    private static float[] CropPlanes(ReadOnlySpan<float> src, int planes, int h, int w, TileWindow win)
    {
        var dst = new float[planes * win.Height * win.Width];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < win.Height; y++)
                src.Slice((p * h + win.Top + y) * w + win.Left, win.Width).CopyTo(dst.AsSpan((p * win.Height + y) * win.Width, win.Width));
        return dst;
    }

    private static void Clamp(Span<float> v, float lo, float hi)
    {
        for (int i = 0; i < v.Length; i++) v[i] = Math.Clamp(v[i], lo, hi);
    }

    public void Dispose()
    {
        ReleaseReferenceStreams();
        foreach (var c in _contexts.Values) c.Dispose();
        _contexts.Clear();
        _weights.Dispose();
    }
}
