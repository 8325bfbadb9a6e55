using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Imaging;
using PFStorer.Training.Metrics;
using Spectre.Console;

namespace PFStorer.Restore;

/// <summary>
/// `metrics --restored DIR --reference DIR [--json FILE] [--ssim gaussian|uniform]`: PSNR (data range 255) and SSIM
/// on RGB (scikit-image definitions) per image, paired by file name without extension, and their means.
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
        var cmd = new Command("metrics", "PSNR and SSIM of restored images against references.") { restored, reference, json, ssim };
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse.GetValue(restored)!, parse.GetValue(reference)!, parse.GetValue(json), parse.GetValue(ssim), cancel)));
        return cmd;
    }

    internal sealed record Row(string Name, double Psnr, double Ssim);

    internal static int Run(string restoredDir, string referenceDir, string? jsonPath, SsimWindow window, CancellationToken cancel = default)
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
                rows.Add(new(name, ImageMetrics.Psnr(a, b), ImageMetrics.Ssim(a, b, window)));
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
        var mean = new Row("mean", rows.Average(r => r.Psnr), rows.Average(r => r.Ssim));
        var table = new Table().AddColumn("image").AddColumn(new TableColumn("PSNR (dB)").RightAligned()).AddColumn(new TableColumn("SSIM").RightAligned());
        foreach (var r in rows) table.AddRow(Markup.Escape(r.Name), $"{r.Psnr:F3}", $"{r.Ssim:F4}");
        table.AddEmptyRow().AddRow("[bold]mean[/]", $"[bold]{mean.Psnr:F3}[/]", $"[bold]{mean.Ssim:F4}[/]");
        AnsiConsole.Write(table);
        if (jsonPath != null) AtomicFile.Write(jsonPath, stream => stream.Write(Encoding.UTF8.GetBytes(ToJson(rows, mean, window))), cancel: cancel);
        return problems.Count == 0 ? 0 : 1;
    }

    private static bool IsImage(string path) => ImageFile.Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    private static string ToJson(List<Row> rows, Row mean, SsimWindow window)
    {
        static JsonNode Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(v > 0 ? "inf" : "nan");
        var images = new JsonArray();
        foreach (var r in rows) images.Add(new JsonObject { ["image"] = r.Name, ["psnr"] = Number(r.Psnr), ["ssim"] = Number(r.Ssim) });
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
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
