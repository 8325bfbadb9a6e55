using PFStorer.Graph.Faces;
using PFStorer.Images;

namespace PFStorer.Restore;

/// <summary>Draws detection boxes (green) and landmarks (red dots) on a copy of an image, for people to look at.</summary>
internal static class FaceDrawing
{
    private static readonly byte[] Box = [0, 230, 0], Point = [255, 40, 40];

    public static Image Draw(Image source, IReadOnlyList<AnalyzedFace> faces)
    {
        var rgb = FaceImage.From(source);
        var canvas = Image.NewU8(source.Width, source.Height, 3);
        for (int i = 0; i < rgb.Rgb.Length; i++) canvas.U8![i] = Image.SaturateU8(rgb.Rgb[i]);
        int thickness = Math.Max(1, Math.Min(source.Width, source.Height) / 256);
        foreach (var face in faces)
        {
            var b = face.Detection.Box;
            int x0 = (int)Math.Round(b.X), y0 = (int)Math.Round(b.Y), x1 = (int)Math.Round(b.Right), y1 = (int)Math.Round(b.Bottom);
            for (int t = 0; t < thickness; t++)
            {
                HLine(canvas, x0, x1, y0 + t); HLine(canvas, x0, x1, y1 - t);
                VLine(canvas, x0 + t, y0, y1); VLine(canvas, x1 - t, y0, y1);
            }
            foreach (var p in face.Landmarks.Points)
                for (int dy = -thickness; dy <= thickness; dy++)
                    for (int dx = -thickness; dx <= thickness; dx++)
                        Set(canvas, (int)Math.Round(p.X) + dx, (int)Math.Round(p.Y) + dy, Point);
        }
        return canvas;
    }

    private static void HLine(Image img, int x0, int x1, int y) { for (int x = x0; x <= x1; x++) Set(img, x, y, Box); }

    private static void VLine(Image img, int x, int y0, int y1) { for (int y = y0; y <= y1; y++) Set(img, x, y, Box); }

    private static void Set(Image img, int x, int y, byte[] color)
    {
        if (x < 0 || y < 0 || x >= img.Width || y >= img.Height) return;
        Array.Copy(color, 0, img.U8!, (y * img.Width + x) * 3, 3);
    }
}
