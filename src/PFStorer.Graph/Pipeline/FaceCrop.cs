using PFStorer.Graph.Faces;

namespace PFStorer.Graph.Pipeline;

/// <summary>
/// The square a group photo's face is restored in (docs/faces.md, "Group photos"): centred on the detection box, of side
/// <see cref="Scale"/> × the box's longer side, in input pixels; it may reach past the image, where its pixels are the
/// image reflected at the border. Blending uses a raised-cosine ramp over the outer <see cref="FeatherFraction"/> of
/// the side on each edge, so the weight is 1 over the box and falls to 0 at the square's edge.
/// </summary>
public readonly record struct FaceCrop(int X, int Y, int Side)
{
    /// <summary>Square side over the box's longer side: the box takes the middle half, like the face in a portrait.</summary>
    public const double Scale = 2.0;
    /// <summary>The feathered band on each edge, as a fraction of the side: the margin around the box.</summary>
    public const double FeatherFraction = 0.25;

    public static FaceCrop Around(FaceBox box)
    {
        int side = Math.Max(1, (int)Math.Round(Scale * Math.Max(box.Width, box.Height)));
        double cx = box.X + box.Width / 2, cy = box.Y + box.Height / 2;
        return new FaceCrop((int)Math.Round(cx - side / 2.0), (int)Math.Round(cy - side / 2.0), side);
    }

    /// <summary>The square's place in an output <paramref name="upscale"/> × the input: corner and side rounded to pixels.</summary>
    public FaceCrop Scaled(float upscale) =>
        new((int)Math.Round(X * (double)upscale), (int)Math.Round(Y * (double)upscale), Math.Max(1, (int)Math.Round(Side * (double)upscale)));

    /// <summary>The square's pixels from planar images h×w (reflected where it reaches past a border).</summary>
    public float[] Cut(ReadOnlySpan<float> planes, int count, int h, int w)
    {
        var dst = new float[count * Side * Side];
        for (int p = 0; p < count; p++)
            for (int y = 0; y < Side; y++)
            {
                int sy = TorchResize.Reflect(Y + y, h);
                for (int x = 0; x < Side; x++) dst[(p * Side + y) * Side + x] = planes[(p * h + sy) * w + TorchResize.Reflect(X + x, w)];
            }
        return dst;
    }

    /// <summary>
    /// Blends <paramref name="face"/> (planar, Side×Side) into <paramref name="canvas"/> (planar h×w) with the feathered
    /// weight m: canvas = (1 − m)·canvas + m·face on the square's pixels inside the canvas (the face exactly where m = 1);
    /// nothing else is touched.
    /// </summary>
    public void BlendInto(Span<float> canvas, ReadOnlySpan<float> face, int count, int h, int w)
    {
        var ramp = new double[Side];
        for (int i = 0; i < Side; i++) ramp[i] = Ramp(i, Side);
        for (int p = 0; p < count; p++)
            for (int y = Math.Max(0, -Y); y < Side && Y + y < h; y++)
                for (int x = Math.Max(0, -X); x < Side && X + x < w; x++)
                {
                    int at = (p * h + Y + y) * w + X + x;
                    double m = ramp[y] * ramp[x];
                    canvas[at] = (float)((1 - m) * canvas[at] + m * face[(p * Side + y) * Side + x]);
                }
    }

    /// <summary>The weight along one axis at pixel <paramref name="i"/> of <paramref name="side"/>: 0.5 − 0.5·cos(π·e / band)
    /// in the band, with e the pixel centre's distance from the nearer edge over the side, 1 beyond it.</summary>
    public static double Ramp(int i, int side)
    {
        double e = Math.Min(i + 0.5, side - i - 0.5) / side;
        return e >= FeatherFraction ? 1 : 0.5 - 0.5 * Math.Cos(Math.PI * e / FeatherFraction);
    }
}
