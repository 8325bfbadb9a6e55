using PFStorer.Images;

namespace PFStorer.Graph.Faces;

/// <summary>
/// An RGB picture for the face networks: interleaved HWC floats on the 0–255 scale (gray is repeated into three
/// channels, alpha dropped). Crops and network inputs are made exactly as face-api makes them from a tensor
/// (docs/faces.md), so results can be compared with face-api's number for number.
/// </summary>
public sealed class FaceImage
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>HWC, 3 channels, 0–255.</summary>
    public float[] Rgb { get; }

    public FaceImage(float[] rgb, int width, int height)
    {
        if (width <= 0 || height <= 0 || rgb.LongLength != (long)width * height * 3)
            throw new ArgumentException($"face image {width}x{height} needs {(long)width * height * 3} samples, got {rgb.LongLength}");
        (Rgb, Width, Height) = (rgb, width, height);
    }

    public static FaceImage From(Image image)
    {
        var f = image.ToF32().F32!;
        int n = image.Width * image.Height, ch = image.Channels;
        var rgb = new float[n * 3];
        bool gray = image.ColorChannels == 1;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                rgb[i * 3 + c] = f[i * ch + (gray ? 0 : c)];
        return new FaceImage(rgb, image.Width, image.Height);
    }

    /// <summary>The pixels of an integer rectangle inside the image (face-api's slice of a face box).</summary>
    public FaceImage Crop(int x, int y, int width, int height)
    {
        if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > Width || y + height > Height)
            throw new ArgumentException($"crop ({x},{y}) {width}x{height} is not inside the {Width}x{Height} image");
        var rgb = new float[width * height * 3];
        for (int r = 0; r < height; r++)
            Array.Copy(Rgb, ((long)(y + r) * Width + x) * 3, rgb, (long)r * width * 3, width * 3);
        return new FaceImage(rgb, width, height);
    }

    /// <summary>
    /// A network input [1,3,size,size]: the image padded with zeros to a square (<paramref name="centered"/>: on both
    /// sides, the odd pixel before; otherwise all after), resized bilinearly to size×size the way tfjs's
    /// resizeBilinear does without half-pixel centres, then (v − mean) / 255 per channel, in f32.
    /// </summary>
    public Tensor ToNetInput(int size, bool centered, ReadOnlySpan<float> meanRgb)
    {
        var (square, side) = PadToSquare(centered);
        var output = new float[3 * size * size];
        double ratio = (double)side / size;
        long plane = (long)size * size;
        for (int r = 0; r < size; r++)
        {
            double fr = side == size ? r : ratio * r;
            int r0 = Math.Max(0, (int)Math.Floor(fr)), r1 = Math.Min(side - 1, (int)Math.Ceiling(fr));
            double rowFrac = fr - r0;
            for (int c = 0; c < size; c++)
            {
                double fc = side == size ? c : ratio * c;
                int c0 = Math.Max(0, (int)Math.Floor(fc)), c1 = Math.Min(side - 1, (int)Math.Ceiling(fc));
                double colFrac = fc - c0;
                for (int ch = 0; ch < 3; ch++)
                {
                    double tl = square[((long)r0 * side + c0) * 3 + ch], tr = square[((long)r0 * side + c1) * 3 + ch];
                    double bl = square[((long)r1 * side + c0) * 3 + ch], br = square[((long)r1 * side + c1) * 3 + ch];
                    double top = tl + (tr - tl) * colFrac, bottom = bl + (br - bl) * colFrac;
                    float v = (float)(top + (bottom - top) * rowFrac);
                    output[ch * plane + (long)r * size + c] = (v - meanRgb[ch]) / 255f;
                }
            }
        }
        return Tensor.FromArray(output, 1, 3, size, size);
    }

    /// <summary>face-api's padToSquare: zeros after the image, or (centered) round(d/2) after and the rest before.</summary>
    private (float[] Pixels, int Side) PadToSquare(bool centered)
    {
        if (Width == Height) return (Rgb, Width);
        int side = Math.Max(Width, Height), diff = side - Math.Min(Width, Height);
        int after = centered ? (int)Math.Floor(diff * 0.5 + 0.5) : diff, before = diff - after;
        var square = new float[(long)side * side * 3];
        bool padColumns = Height > Width;
        for (int r = 0; r < Height; r++)
        {
            long dst = padColumns ? ((long)r * side + before) * 3 : ((long)(r + before) * side) * 3;
            Array.Copy(Rgb, (long)r * Width * 3, square, dst, Width * 3);
        }
        return (square, side);
    }
}
