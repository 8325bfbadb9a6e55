namespace PFStorer.Graph.Sampling;

/// <summary>One window of a tiled computation, in the coordinates of the full canvas.</summary>
public readonly record struct TileWindow(int Top, int Left, int Height, int Width);

/// <summary>
/// The two tilings of StableSR's arbitrary-size script (docs/sampling.md, "Arbitrary sizes") and their Gaussian blending weights.
/// Both are fixed so that an axis shorter than the tile gets one window of its own length; upstream instead
/// places a full-size tile at a negative offset (latent canvas) or multiplies a 1280² weight with a smaller patch
/// (pixel splitter), and crashes whenever one side is under and the other over the tile size.
/// </summary>
public static class TileLayout
{
    /// <summary>
    /// sample_canvas's window starts along one latent axis: n = the fewest tiles with (n−1)(T−O)+T ≥ L, starts r·(T−O),
    /// except the last which is placed flush with the end (L−T). A length ≤ T gives the single start 0.
    /// </summary>
    public static int[] CanvasStarts(int length, int tile, int overlap)
    {
        if (tile <= 0 || overlap < 0 || overlap >= tile) throw new ArgumentException($"tile {tile} with overlap {overlap} is not a valid tiling");
        if (length <= tile) return [0];
        int stride = tile - overlap;
        int n = 1;
        while ((n - 1) * stride + tile < length) n++;
        var starts = new int[n];
        for (int r = 0; r < n - 1; r++) starts[r] = r * stride;
        starts[n - 1] = length - tile;
        return starts;
    }

    /// <summary>
    /// ImageSpliterTh's patch starts along one pixel axis: [0] if L ≤ P, else range(0, L, S) with every start that would
    /// overrun replaced by L−P, duplicates dropped in order.
    /// </summary>
    public static int[] SplitterStarts(int length, int patch, int stride)
    {
        if (stride <= 0 || stride > patch) throw new ArgumentException($"patch {patch} with stride {stride} is not a valid split");
        if (length <= patch) return [0];
        var starts = new List<int>();
        for (int s = 0; s < length; s += stride)
        {
            int start = s + patch > length ? length - patch : s;
            if (!starts.Contains(start)) starts.Add(start);
        }
        return [.. starts];
    }

    /// <summary>Every window of a 2-D tiling, width starts outermost as both upstream loops do.</summary>
    public static TileWindow[] Windows(int[] rowStarts, int[] colStarts, int height, int width, int tile)
    {
        int th = Math.Min(tile, height), tw = Math.Min(tile, width);
        var windows = new TileWindow[rowStarts.Length * colStarts.Length];
        int k = 0;
        foreach (int left in colStarts)
            foreach (int top in rowStarts)
                windows[k++] = new TileWindow(top, left, th, tw);
        return windows;
    }

    /// <summary>
    /// Upstream's Gaussian tile weight (_gaussian_weights) for an h×w window, row-major [h, w]:
    /// g(v) = exp(−(v − mid)² / (n²·2·0.01)) / √(2π·0.01), midpoint (w−1)/2 across the width but h/2 down the height
    /// (a quirk of the source, kept so overlaps blend exactly as upstream), weight = g_y(y)·g_x(x). Float64.
    /// </summary>
    public static double[] GaussianWeights(int height, int width)
    {
        const double Var = 0.01;
        double norm = Math.Sqrt(2 * Math.PI * Var);
        var gx = new double[width];
        var gy = new double[height];
        double mx = (width - 1) / 2.0, my = height / 2.0;
        for (int x = 0; x < width; x++) gx[x] = Math.Exp(-(x - mx) * (x - mx) / ((double)width * width) / (2 * Var)) / norm;
        for (int y = 0; y < height; y++) gy[y] = Math.Exp(-(y - my) * (y - my) / ((double)height * height) / (2 * Var)) / norm;
        var w = new double[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) w[y * width + x] = gy[y] * gx[x];
        return w;
    }

    /// <summary>
    /// Per-window blending weights already divided by the total weight at each canvas pixel (Σ over windows = 1 everywhere),
    /// so stitching is Σ tile·weight with no final division. Float32, one [h·w] array per window.
    /// </summary>
    public static float[][] NormalisedWeights(TileWindow[] windows, int height, int width)
    {
        var total = new double[height * width];
        var raw = windows.Select(w => GaussianWeights(w.Height, w.Width)).ToArray();
        for (int k = 0; k < windows.Length; k++)
        {
            var win = windows[k];
            for (int y = 0; y < win.Height; y++)
                for (int x = 0; x < win.Width; x++) total[(win.Top + y) * width + win.Left + x] += raw[k][y * win.Width + x];
        }
        var result = new float[windows.Length][];
        for (int k = 0; k < windows.Length; k++)
        {
            var win = windows[k];
            result[k] = new float[win.Height * win.Width];
            for (int y = 0; y < win.Height; y++)
                for (int x = 0; x < win.Width; x++)
                    result[k][y * win.Width + x] = (float)(raw[k][y * win.Width + x] / total[(win.Top + y) * width + win.Left + x]);
        }
        return result;
    }
}
