namespace PFStorer.Training.Degradations;

/// <summary>Which pipeline of docs/degradations.md.</summary>
public enum DegradationLevel { Light, Heavy }

/// <summary>
/// One application of the paper's eq. 3, I_D = {(I ⊗ k_σ)↓r + n_δ}_JPEG_q ↑r. Null members were not applied
/// (downsampling and noise are optional; blur and JPEG always run).
/// </summary>
public sealed record FirstOrderParameters(
    double BlurSigma, int BlurKernelSize, double? DownScale, double? NoiseSigma, ulong? NoiseSeed, int JpegQuality);

/// <summary>Camera-shake blur: segment length (pixels) and angle (radians).</summary>
public sealed record MotionBlurParameters(double Length, double Angle);

/// <summary>Ideal circular low-pass (2-D sinc) filter: cutoff ω (radians/pixel) and odd kernel size.</summary>
public sealed record SincParameters(double Cutoff, int KernelSize);

/// <summary>
/// Every random choice of one degradation, so a set can be regenerated bit for bit from the sidecars alone
/// (<see cref="Degradation.Apply"/> is a pure function of the image and this record). Null members were not applied.
/// </summary>
public sealed record DegradationParameters(
    DegradationLevel Level,
    ulong Seed,
    bool Clean = false,
    CameraNoiseParameters? CameraNoise = null,
    MotionBlurParameters? MotionBlur = null,
    int? MedianKernelSize = null,
    FirstOrderParameters? First = null,
    SincParameters? Sinc = null,
    FirstOrderParameters? Second = null);
