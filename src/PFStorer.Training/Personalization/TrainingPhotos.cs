using PFStorer.Graph;
using PFStorer.Graph.Autograd;
using PFStorer.Images;
using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Kernels;
using PFStorer.Training.Degradations;

namespace PFStorer.Training.Personalization;

/// <summary>One prepared reference photo: the square RGB image the degradations start from and its VAE posterior.</summary>
public sealed record TrainingPhoto(string Name, Image Image, ReferenceLatent Latent) : IDisposable
{
    public void Dispose() => Latent.Dispose();
}

/// <summary>
/// Photo preparation (docs/identity-files.md, "Photos"): the image as read (EXIF orientation applied), centre-cropped to a
/// square and resized to the model's training size (area averaging when shrinking, bicubic when enlarging); alpha is
/// dropped and gray is expanded to RGB. The VAE encodes each photo once; its posterior mean and std are kept.
/// </summary>
public static class TrainingPhotos
{
    public const string PreparationNote = "centre crop to a square, then area (shrink) or bicubic (enlarge) resize to {0}x{0}";

    public static Image Prepare(Image image, int size)
    {
        var rgb = ToRgbF32(image);
        int side = Math.Min(rgb.Width, rgb.Height), left = (rgb.Width - side) / 2, top = (rgb.Height - side) / 2;
        var square = Image.NewF32(side, side, 3);
        for (int y = 0; y < side; y++)
            rgb.F32.AsSpan(((top + y) * rgb.Width + left) * 3, side * 3).CopyTo(square.F32.AsSpan(y * side * 3, side * 3));
        return side == size ? square : Resize.ToSize(square, size, size, side > size ? Interpolation.Area : Interpolation.Cubic);
    }

    private static Image ToRgbF32(Image image)
    {
        var colour = image.HasAlpha ? image.WithoutAlpha() : image;
        var f = colour.ToF32();
        if (f.Channels == 3) return f;
        var rgb = Image.NewF32(f.Width, f.Height, 3);
        for (int i = 0; i < f.Width * f.Height; i++) rgb.F32![3 * i] = rgb.F32[3 * i + 1] = rgb.F32[3 * i + 2] = f.F32![i];
        return rgb;
    }

    /// <summary>An F32 0–255 RGB image → [1,3,H,W] in [−1,1] on <paramref name="device"/> (values clamped).</summary>
    public static Tensor ToTensor(Image image, Device device)
    {
        var planes = Restorer.ToPlanes(image);
        for (int i = 0; i < planes.Length; i++) planes[i] = Math.Clamp(planes[i], -1f, 1f);
        return Tensor.FromSpan<float>(planes, DType.F32, [1, 3, image.Height, image.Width], device);
    }

    /// <summary>The VAE posterior of a prepared photo (unscaled latent space).</summary>
    public static ReferenceLatent Encode(AutoencoderKL vae, Image prepared, Device device)
    {
        using var noGrad = GradMode.NoGrad();
        using var x = ToTensor(prepared, device);
        using var encoding = vae.Encode(x);
        using var posterior = encoding.Posterior();
        return new ReferenceLatent(posterior.Mean.Clone(), posterior.Std.Clone());
    }
}
