using PFStorer.Graph.Autograd;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models.Faces;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Faces;

/// <summary>Detector settings: face-api's TinyFaceDetectorOptions (input size a multiple of 32).</summary>
public sealed record FaceDetectorOptions(int InputSize = TinyFaceDetectorNet.DefaultInputSize, double ScoreThreshold = 0.5, double IouThreshold = 0.4)
{
    public void Validate()
    {
        if (InputSize <= 0 || InputSize % 32 != 0) throw new ArgumentException($"detector input size {InputSize} must be a positive multiple of 32");
        if (ScoreThreshold is <= 0 or >= 1) throw new ArgumentException($"detector score threshold {ScoreThreshold} must be in (0, 1)");
    }
}

/// <summary>
/// The face pipeline with face-api's pretrained networks (docs/faces.md): <see cref="Detect"/> finds faces,
/// <see cref="Landmarks"/> places 68 points in a face box, <see cref="Embed"/> turns an aligned face into a 128-D
/// identity descriptor (compare with <see cref="FaceDistance"/>), and <see cref="Analyze"/> chains them the way
/// face-api's detectAllFaces().withFaceLandmarks().withFaceDescriptors() does. Inference only (no grad is recorded).
/// </summary>
public sealed class FaceAnalyzer : IDisposable
{
    private readonly TinyFaceDetectorNet _detector = new();
    private readonly FaceLandmarkNet _landmarks = new();
    private readonly FaceRecognitionNet _recognition = new();

    public Device Device { get; }

    /// <summary>Load reports of the detector, landmark and recognition weights (all exact after <see cref="Load"/>).</summary>
    public IReadOnlyList<(string Manifest, LoadReport Report)> Reports { get; private set; } = [];

    private FaceAnalyzer(Device device) => Device = device;

    /// <summary>Loads the three networks from <paramref name="weightsDirectory"/> (see <see cref="FaceWeights.Locate"/>);
    /// any missing, unexpected or mis-shaped weight is an error that lists them.</summary>
    public static FaceAnalyzer Load(string? weightsDirectory = null, Device? device = null)
    {
        var dir = FaceWeights.Locate(weightsDirectory);
        var analyzer = new FaceAnalyzer(device ?? Device.Cpu);
        try
        {
            var reports = new List<(string, LoadReport)>();
            foreach (var (module, manifest) in new (Module, string)[]
                     { (analyzer._detector, FaceWeights.Detector), (analyzer._landmarks, FaceWeights.Landmarks), (analyzer._recognition, FaceWeights.Recognition) })
            {
                var path = Path.Combine(dir, manifest);
                var report = FaceApiKeyMap.Load(module, path, analyzer.Device);
                if (!report.IsExact) throw new InvalidDataException($"{path}: weights do not match the network: {report}");
                reports.Add((path, report));
            }
            analyzer.Reports = reports;
            return analyzer;
        }
        catch
        {
            analyzer.Dispose();
            throw;
        }
    }

    /// <summary>The detector's raw output for the whole image, [1, 25, S/32, S/32] on the host (channel = anchor·5 + field).</summary>
    public float[] DetectorGrid(FaceImage image, int inputSize, out int cells)
    {
        using var _ = GradMode.NoGrad();
        using var x = Input(image, inputSize, centered: false, TinyFaceDetectorNet.MeanRgb);
        using var grid = _detector.Forward(x);
        cells = grid.Dim(2);
        return ToHost(grid);
    }

    /// <summary>Faces in the image, best first (face-api's TinyFaceDetector.locateFaces).</summary>
    public IReadOnlyList<FaceDetection> Detect(FaceImage image, FaceDetectorOptions? options = null)
    {
        options ??= new FaceDetectorOptions();
        options.Validate();
        var grid = DetectorGrid(image, options.InputSize, out int cells);
        // Box centres and sizes come out relative to the padded square; these factors make them relative to the image.
        double scale = (double)options.InputSize / Math.Max(image.Width, image.Height);
        double corrX = options.InputSize / Math.Round(image.Width * scale, MidpointRounding.AwayFromZero);
        double corrY = options.InputSize / Math.Round(image.Height * scale, MidpointRounding.AwayFromZero);
        var boxes = new List<FaceBox>();
        var scores = new List<double>();
        int anchors = TinyFaceDetectorNet.Anchors.Length, plane = cells * cells;
        for (int row = 0; row < cells; row++)
            for (int col = 0; col < cells; col++)
                for (int a = 0; a < anchors; a++)
                {
                    double Field(int f) => grid[(a * TinyFaceDetectorNet.BoxEncoding + f) * plane + row * cells + col];
                    double score = Sigmoid(Field(4));
                    if (score <= options.ScoreThreshold) continue;
                    double cx = (col + Sigmoid(Field(0))) / cells * corrX, cy = (row + Sigmoid(Field(1))) / cells * corrY;
                    double w = Math.Exp(Field(2)) * TinyFaceDetectorNet.Anchors[a].W / cells * corrX;
                    double h = Math.Exp(Field(3)) * TinyFaceDetectorNet.Anchors[a].H / cells * corrY;
                    double x = cx - w / 2, y = cy - h / 2;
                    boxes.Add(FaceBox.FromEdges(x, y, x + w, y + h));
                    scores.Add(score);
                }
        var keep = FaceGeometry.NonMaxSuppression(boxes.Select(b => b.Scale(options.InputSize, options.InputSize)).ToList(), scores, options.IouThreshold);
        // face-api turns the relative box into pixels, back into relative and into pixels again; so do we, to stay in step.
        double iw = image.Width, ih = image.Height;
        return keep.Select(i => new FaceDetection(boxes[i].Scale(iw, ih).Scale(1 / iw, 1 / ih).Scale(iw, ih), scores[i])).ToList();
    }

    /// <summary>68 landmarks (image pixels) of the face in <paramref name="box"/> (a detection box; it is clipped and floored to
    /// crop the face, and the points are placed relative to the box's own corner, as face-api does).</summary>
    public FaceLandmarks68 Landmarks(FaceImage image, FaceBox box)
    {
        var (cx, cy, cw, ch) = CropRect(box, image);
        var crop = image.Crop(cx, cy, cw, ch);
        float[] rel;
        using (GradMode.NoGrad())
        using (var x = Input(crop, FaceLandmarkNet.InputSize, centered: true, FaceLandmarkNet.MeanRgb))
        using (var y = _landmarks.Forward(x))
            rel = ToHost(y);
        // face-api's postProcess: undo the centred padding of the square input, in f32 tensor ops.
        const int size = FaceLandmarkNet.InputSize;
        double s = (double)size / Math.Max(cw, ch);
        double inW = cw * s, inH = ch * s;
        float padX = (float)(inW < inH ? Math.Abs(inW - inH) / 2 : 0), padY = (float)(inH < inW ? Math.Abs(inW - inH) / 2 : 0);
        var points = new FacePoint[FaceLandmarks68.Count];
        for (int i = 0; i < points.Length; i++)
        {
            double rx = (rel[2 * i] * size - padX) / (float)inW, ry = (rel[2 * i + 1] * size - padY) / (float)inH;
            float fx = (float)rx, fy = (float)ry;
            points[i] = new FacePoint((fx * (double)cw + 0) / cw * cw + box.X, (fy * (double)ch + 0) / ch * ch + box.Y);
        }
        return new FaceLandmarks68(points);
    }

    /// <summary>The 128-D descriptor of the face inside <paramref name="rect"/> (an aligned rectangle, clipped and floored
    /// to crop the face).</summary>
    public float[] Embed(FaceImage image, FaceBox rect)
    {
        var (x, y, w, h) = CropRect(rect, image);
        return EmbedWhole(image.Crop(x, y, w, h));
    }

    /// <summary>The descriptor of a whole picture taken as the face (padded to a square and resized to 150×150).</summary>
    public float[] EmbedWhole(FaceImage face)
    {
        using var _ = GradMode.NoGrad();
        using var x = Input(face, FaceRecognitionNet.InputSize, centered: true, FaceRecognitionNet.MeanRgb);
        using var d = _recognition.Forward(x);
        return ToHost(d);
    }

    /// <summary>The landmark net's raw output for a whole picture taken as the face: 136 values in [0,1] of the padded input.</summary>
    public float[] LandmarksWhole(FaceImage face)
    {
        using var _ = GradMode.NoGrad();
        using var x = Input(face, FaceLandmarkNet.InputSize, centered: true, FaceLandmarkNet.MeanRgb);
        using var y = _landmarks.Forward(x);
        return ToHost(y);
    }

    /// <summary>Detection, landmarks, dlib-style alignment and descriptor for every face, best detection first.</summary>
    public IReadOnlyList<AnalyzedFace> Analyze(FaceImage image, FaceDetectorOptions? options = null)
    {
        var faces = new List<AnalyzedFace>();
        foreach (var det in Detect(image, options))
        {
            var (_, _, cw, ch) = CropRect(det.Box, image);
            if (cw <= 0 || ch <= 0) continue;
            var landmarks = Landmarks(image, det.Box);
            var aligned = FaceGeometry.DlibAlignment(landmarks, cw, ch);
            var (_, _, aw, ah) = aligned.ClipToImage(image.Width, image.Height);
            if (aw <= 0 || ah <= 0) continue;
            faces.Add(new AnalyzedFace(det, landmarks, aligned, Embed(image, aligned)));
        }
        return faces;
    }

    private static (int X, int Y, int W, int H) CropRect(FaceBox box, FaceImage image) => box.ClipToImage(image.Width, image.Height);

    private Tensor Input(FaceImage image, int size, bool centered, float[] mean)
    {
        var host = image.ToNetInput(size, centered, mean);
        if (Device == Device.Cpu) return host;
        using (host) return host.To(Device);
    }

    private static float[] ToHost(Tensor t)
    {
        if (t.Device == Device.Cpu) return t.ToFloatArray();
        using var h = t.To(Device.Cpu);
        return h.ToFloatArray();
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public void Dispose()
    {
        _detector.Dispose();
        _landmarks.Dispose();
        _recognition.Dispose();
    }
}
