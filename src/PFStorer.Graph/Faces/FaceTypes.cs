namespace PFStorer.Graph.Faces;

/// <summary>A rectangle in pixels (doubles, as face-api keeps them); Right/Bottom are X+Width, Y+Height.</summary>
public readonly record struct FaceBox(double X, double Y, double Width, double Height)
{
    public double Right => X + Width;
    public double Bottom => Y + Height;
    public double Area => Width * Height;

    public static FaceBox FromEdges(double left, double top, double right, double bottom) => new(left, top, right - left, bottom - top);

    public FaceBox Scale(double sx, double sy) => new(X * sx, Y * sy, Width * sx, Height * sy);

    /// <summary>face-api's clipAtImageBorders: cut to the image, then every field floored; the integer crop of a box.</summary>
    public (int X, int Y, int Width, int Height) ClipToImage(int imageWidth, int imageHeight)
    {
        double x = Math.Max(X, 0), y = Math.Max(Y, 0);
        double w = Math.Min(Right - x, imageWidth - x), h = Math.Min(Bottom - y, imageHeight - y);
        return ((int)Math.Floor(x), (int)Math.Floor(y), (int)Math.Floor(w), (int)Math.Floor(h));
    }

    public override string ToString() => $"x={X:0.##} y={Y:0.##} w={Width:0.##} h={Height:0.##}";
}

public readonly record struct FacePoint(double X, double Y);

/// <summary>A detected face: its box in image pixels and the detector's confidence (0–1).</summary>
public readonly record struct FaceDetection(FaceBox Box, double Score);

/// <summary>
/// The 68 landmarks (iBUG 300-W order: jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67) in image pixels.
/// </summary>
public sealed record FaceLandmarks68(FacePoint[] Points)
{
    public const int Count = 68;

    public FacePoint LeftEyeCenter => Center(36, 42);
    public FacePoint RightEyeCenter => Center(42, 48);
    public FacePoint MouthCenter => Center(48, 68);

    /// <summary>Mean of points [from, to), summed in order from (0,0) as face-api does.</summary>
    private FacePoint Center(int from, int to)
    {
        double x = 0, y = 0;
        for (int i = from; i < to; i++) (x, y) = (x + Points[i].X, y + Points[i].Y);
        return new FacePoint(x / (to - from), y / (to - from));
    }
}

/// <summary>Everything the pipeline knows about one face.</summary>
public sealed record AnalyzedFace(FaceDetection Detection, FaceLandmarks68 Landmarks, FaceBox AlignedRect, float[] Descriptor);
