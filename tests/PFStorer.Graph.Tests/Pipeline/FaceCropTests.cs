using PFStorer.Graph.Faces;
using PFStorer.Graph.Pipeline;
using PFStorer.Tests;
using Xunit;

namespace PFStorer.Graph.Tests.Pipeline;

/// <summary>The square a group photo's face is restored in: geometry, reflected cutting and the feathered blend.</summary>
public sealed class FaceCropTests
{
    [Fact]
    public void TheSquareIsCentredOnTheBoxAndItsWeightIsOneOverTheBox()
    {
        var rng = Reference.NewRandom(out int seed);
        for (int k = 0; k < 200; k++)
        {
            var box = new FaceBox(rng.NextDouble() * 400 - 50, rng.NextDouble() * 400 - 50, 10 + rng.NextDouble() * 200, 10 + rng.NextDouble() * 200);
            var crop = FaceCrop.Around(box);
            Assert.Equal(Math.Round(2 * Math.Max(box.Width, box.Height)), crop.Side);
            Assert.True(Math.Abs(crop.X + crop.Side / 2.0 - (box.X + box.Width / 2)) <= 0.5 + 1e-9, $"seed {seed}: {box} → {crop}");
            Assert.True(Math.Abs(crop.Y + crop.Side / 2.0 - (box.Y + box.Height / 2)) <= 0.5 + 1e-9, $"seed {seed}: {box} → {crop}");
            // Every whole pixel of the box (one pixel in from its edges, for rounding) gets the face alone.
            for (int x = (int)Math.Ceiling(box.X) + 1; x < box.Right - 1; x++) Assert.Equal(1.0, FaceCrop.Ramp(x - crop.X, crop.Side));
            for (int y = (int)Math.Ceiling(box.Y) + 1; y < box.Bottom - 1; y++) Assert.Equal(1.0, FaceCrop.Ramp(y - crop.Y, crop.Side));
        }
    }

    [Fact]
    public void TheRampIsSymmetricRisesThroughTheBandAndNeverReachesZeroInside()
    {
        foreach (int side in new[] { 1, 2, 7, 64, 229 })
        {
            var r = Enumerable.Range(0, side).Select(i => FaceCrop.Ramp(i, side)).ToArray();
            for (int i = 0; i < side; i++) Assert.Equal(r[i], r[side - 1 - i], 12);
            Assert.All(r, v => Assert.InRange(v, double.Epsilon, 1.0));
            int band = (int)(side * FaceCrop.FeatherFraction);
            for (int i = 1; i < band; i++) Assert.True(r[i] > r[i - 1], $"side {side}: not rising at {i}");
            if (side >= 64) Assert.True(r[0] < 0.01, $"side {side}: the edge weight {r[0]} is not near zero");
        }
    }

    [Fact]
    public void CuttingReflectsAtEveryBorderLikeTorchReflectPadding()
    {
        var rng = Reference.NewRandom(out int seed);
        int h = 9, w = 11, planes = 2;
        var img = Reference.RandomArray(rng, planes * h * w).Select(v => (float)v).ToArray();
        // Past the bottom-right: the reference is F.pad(reflect) then a plain crop.
        var crop = new FaceCrop(7, 5, 8);
        int ph = crop.Y + crop.Side - h, pw = crop.X + crop.Side - w;
        var padded = TorchResize.ReflectPadBottomRight(img, planes, h, w, ph, pw);
        var cut = crop.Cut(img, planes, h, w);
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < crop.Side; y++)
                for (int x = 0; x < crop.Side; x++)
                    Assert.True(padded[(p * (h + ph) + crop.Y + y) * (w + pw) + crop.X + x] == cut[(p * crop.Side + y) * crop.Side + x], $"seed {seed}");
        // Past the top-left: the same square cut from the image turned by 180° is the turned cut.
        var turned = new float[img.Length];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < h * w; i++) turned[p * h * w + i] = img[p * h * w + h * w - 1 - i];
        var mirrored = new FaceCrop(w - crop.X - crop.Side, h - crop.Y - crop.Side, crop.Side);
        Assert.True(mirrored.X < 0 && mirrored.Y < 0);
        var cutTurned = mirrored.Cut(turned, planes, h, w);
        int n = crop.Side * crop.Side;
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < n; i++) Assert.True(cut[p * n + i] == cutTurned[p * n + n - 1 - i], $"seed {seed}");
    }

    [Fact]
    public void BlendingTouchesOnlyTheSquareAndTakesTheFaceWhereTheWeightIsOne()
    {
        var rng = Reference.NewRandom(out int seed);
        int h = 40, w = 50, planes = 3;
        var canvas = Reference.RandomArray(rng, planes * h * w).Select(v => (float)v).ToArray();
        var before = (float[])canvas.Clone();
        var crop = new FaceCrop(-6, 20, 32);   // reaches past the left and bottom edges
        var face = Reference.RandomArray(rng, planes * crop.Side * crop.Side).Select(v => (float)v).ToArray();
        crop.BlendInto(canvas, face, planes, h, w);
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int at = (p * h + y) * w + x;
                    int cx = x - crop.X, cy = y - crop.Y;
                    if (cx < 0 || cy < 0 || cx >= crop.Side || cy >= crop.Side) { Assert.True(before[at] == canvas[at], $"seed {seed}: ({x},{y}) changed"); continue; }
                    double m = FaceCrop.Ramp(cx, crop.Side) * FaceCrop.Ramp(cy, crop.Side);
                    float f = face[(p * crop.Side + cy) * crop.Side + cx];
                    Assert.True(Math.Abs(canvas[at] - ((1 - m) * before[at] + m * f)) <= 1e-6, $"seed {seed}: ({x},{y})");
                    if (m == 1) Assert.True(canvas[at] == f, $"seed {seed}: ({x},{y}) is not the face where the weight is 1");
                }
    }

    [Fact]
    public void TheOutputSquareScalesWithTheUpscale()
    {
        Assert.Equal(new FaceCrop(15, -4, 60), new FaceCrop(10, -3, 40).Scaled(1.5f));
        Assert.Equal(new FaceCrop(10, -3, 40), new FaceCrop(10, -3, 40).Scaled(1f));
    }
}
