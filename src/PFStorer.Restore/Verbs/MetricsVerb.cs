using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Faces;
using PFStorer.Images;
using PFStorer.Training.Metrics;
using Spectre.Console;

namespace PFStorer.Restore;

/// <summary>
/// `metrics --restored DIR --reference DIR [--json FILE] [--ssim gaussian|uniform] [--face-weights DIR] [--no-faces]`:
/// PSNR (data range 255) and SSIM on RGB (scikit-image definitions) per image, paired by file name without extension,
/// and, where the reference shows a face, the paper's ID and LMSE (<see cref="FaceMetrics"/>); means over the images
/// that have each value.
/// </summary>
internal static class MetricsVerb
{
    public static Command Create()
    {
        var restored = new Option<string>("--restored") { Description = "Folder of restored images.", Required = true };
        var reference = new Option<string>("--reference") { Description = "Folder of ground-truth images.", Required = true };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var ssim = new Option<SsimWindow>("--ssim")
        {
            Description = "gaussian: Wang et al. (11×11 Gaussian σ 1.5); uniform: scikit-image defaults (7×7, sample covariance).",
            DefaultValueFactory = _ => SsimWindow.Gaussian,
        };
        var faceWeights = new Option<string?>("--face-weights")
        {
            Description = $"Folder of the face networks (default $PFSTORER_FACE_WEIGHTS or weights/face-api, installed by {FaceWeights.InstallCommand}).",
        };
        var noFaces = new Option<bool>("--no-faces") { Description = "Skip the face metrics (ID, LMSE)." };
        var cmd = new Command("metrics", "PSNR, SSIM and the face identity metrics (ID, LMSE) of restored images against references.")
            { restored, reference, json, ssim, faceWeights, noFaces };
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse.GetValue(restored)!, parse.GetValue(reference)!, parse.GetValue(json), parse.GetValue(ssim),
            parse.GetValue(noFaces) ? FaceMode.Off : new FaceMode(true, parse.GetValue(faceWeights)), cancel)));
        return cmd;
    }

    /// <summary>Whether to compute ID/LMSE and from which weights folder (null: the default; missing default weights only warn).</summary>
    internal sealed record FaceMode(bool Enabled, string? WeightsDir)
    {
        public static readonly FaceMode Off = new(false, null);
        public static readonly FaceMode Default = new(true, null);
    }

    internal sealed record Row(string Name, double Psnr, double Ssim, FaceScores? Faces);

    internal static int Run(string restoredDir, string referenceDir, string? jsonPath, SsimWindow window) =>
        Run(restoredDir, referenceDir, jsonPath, window, FaceMode.Default);

    internal static int Run(string restoredDir, string referenceDir, string? jsonPath, SsimWindow window, FaceMode faceMode, CancellationToken cancel = default)
    {
        foreach (var dir in new[] { restoredDir, referenceDir })
            if (!Directory.Exists(dir))
            {
                Console.Error.WriteLine($"metrics: {dir}: no such folder");
                return ExitCodes.Usage;
            }
        var images = Directory.EnumerateFiles(restoredDir).Concat(Directory.EnumerateFiles(referenceDir)).Where(IsImage);
        if (jsonPath != null && OutputLocation.CheckFile(jsonPath, "--json", images) is { } unusable)
        {
            Console.Error.WriteLine($"metrics: {unusable}");
            return ExitCodes.Usage;
        }
        var references = Directory.EnumerateFiles(referenceDir).Where(IsImage)
            .GroupBy(Path.GetFileNameWithoutExtension).ToDictionary(g => g.Key!, g => g.Order(StringComparer.Ordinal).First());
        FaceAnalyzer? faces = null;
        if (faceMode.Enabled)
        {
            try { faces = FaceAnalyzer.Load(faceMode.WeightsDir); }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or CheckpointFormatException)
            {
                Console.Error.WriteLine($"metrics: {(faceMode.WeightsDir == null ? "ID/LMSE skipped: " : "")}{e.Message}");
                if (faceMode.WeightsDir != null) return 2;
            }
        }
        using var _ = faces;
        var rows = new List<Row>();
        var problems = new List<string>();
        foreach (var file in Directory.EnumerateFiles(restoredDir).Where(IsImage).Order(StringComparer.Ordinal))
        {
            if (cancel.IsCancellationRequested) return ExitCodes.Interrupted;
            string name = Path.GetFileNameWithoutExtension(file);
            if (!references.TryGetValue(name, out var refFile))
            {
                problems.Add($"{file}: no reference named {name}.* in {referenceDir}");
                continue;
            }
            try
            {
                var a = ImageFile.Read(file);
                var b = ImageFile.Read(refFile);
                if (a.Width != b.Width || a.Height != b.Height || a.ColorChannels != b.ColorChannels)
                {
                    problems.Add($"{file}: {a.Width}x{a.Height}x{a.ColorChannels} does not match reference {b.Width}x{b.Height}x{b.ColorChannels}");
                    continue;
                }
                rows.Add(new(name, ImageMetrics.Psnr(a, b), ImageMetrics.Ssim(a, b, window), faces == null ? null : FaceMetrics.Compare(faces, a, b)));
            }
            catch (ImageFormatException e)
            {
                problems.Add(e.Message);
            }
        }
        foreach (var p in problems) Console.Error.WriteLine($"metrics: {p}");
        if (rows.Count == 0)
        {
            Console.Error.WriteLine("metrics: no image pairs to compare");
            return 1;
        }
        // Identical pairs give PSNR = +∞; the mean is then +∞ too, which is the honest summary.
        var mean = new Row("mean", rows.Average(r => r.Psnr), rows.Average(r => r.Ssim),
            faces == null ? null : new FaceScores(MeanOf(rows.Select(r => r.Faces?.Id)), MeanOf(rows.Select(r => r.Faces?.Lmse)), 0, false));
        var table = new Table().AddColumn("image").AddColumn(new TableColumn("PSNR (dB)").RightAligned()).AddColumn(new TableColumn("SSIM").RightAligned());
        if (faces != null) table.AddColumn(new TableColumn("ID").RightAligned()).AddColumn(new TableColumn("LMSE (px²)").RightAligned());
        foreach (var r in rows) table.AddRow([Markup.Escape(r.Name), $"{r.Psnr:F3}", $"{r.Ssim:F4}", .. FaceCells(r, "")]);
        table.AddEmptyRow().AddRow(["[bold]mean[/]", $"[bold]{mean.Psnr:F3}[/]", $"[bold]{mean.Ssim:F4}[/]", .. FaceCells(mean, "bold")]);
        AnsiConsole.Write(table);
        if (jsonPath != null) AtomicFile.Write(jsonPath, stream => stream.Write(Encoding.UTF8.GetBytes(ToJson(rows, mean, window))), cancel: cancel);
        return problems.Count == 0 ? 0 : 1;
    }

    private static double? MeanOf(IEnumerable<double?> values)
    {
        var present = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
        return present.Count == 0 ? null : present.Average();
    }

    private static string[] FaceCells(Row r, string style)
    {
        if (r.Faces == null) return [];
        string Cell(double? v, string format) => v is double d ? (style.Length > 0 ? $"[{style}]{d.ToString(format)}[/]" : d.ToString(format)) : "–";
        return [Cell(r.Faces.Id, "F4"), Cell(r.Faces.Lmse, "F2")];
    }

    private static bool IsImage(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    private static string ToJson(List<Row> rows, Row mean, SsimWindow window)
    {
        static JsonNode Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(v > 0 ? "inf" : "nan");
        var images = new JsonArray();
        static JsonNode? Optional(double? v) => v is double d ? Number(d) : null;
        foreach (var r in rows)
        {
            var row = new JsonObject { ["image"] = r.Name, ["psnr"] = Number(r.Psnr), ["ssim"] = Number(r.Ssim) };
            if (r.Faces != null)
            {
                row["id"] = Optional(r.Faces.Id);
                row["lmse"] = Optional(r.Faces.Lmse);
                row["reference_faces"] = r.Faces.ReferenceFaces;
                row["restored_face_found"] = r.Faces.RestoredFaceFound;
            }
            images.Add(row);
        }
        var root = new JsonObject
        {
            ["settings"] = new JsonObject
            {
                ["psnr"] = "skimage peak_signal_noise_ratio, data_range 255, all RGB samples",
                ["ssim"] = window == SsimWindow.Gaussian
                    ? "skimage structural_similarity, gaussian_weights, sigma 1.5, use_sample_covariance False, data_range 255, mean over RGB"
                    : "skimage structural_similarity defaults (7x7 uniform, sample covariance), data_range 255, mean over RGB",
            },
            ["images"] = images,
            ["mean"] = new JsonObject { ["psnr"] = Number(mean.Psnr), ["ssim"] = Number(mean.Ssim) },
        };
        if (mean.Faces != null)
        {
            root["settings"]!["id"] = "cosine similarity of face-api 1.7.15 face-recognition descriptors, reference's best face vs the overlapping restored face";
            root["settings"]!["lmse"] = $"mean over 68 face-api landmarks of the squared distance in pixels; {FaceMetrics.NoLandmarks} when the restored image has no matching face";
            root["mean"]!["id"] = Optional(mean.Faces.Id);
            root["mean"]!["lmse"] = Optional(mean.Faces.Lmse);
        }
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
