using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Faces;
using PFStorer.Images;
using Spectre.Console;

namespace PFStorer.Restore;

/// <summary>
/// `faces IMAGES... [--draw DIR] [--json FILE] [--face-weights DIR] [--input-size N] [--score-threshold T]`: runs
/// the face pipeline (face-api's detector, 68 landmarks and descriptor; docs/faces.md) on each image and prints every
/// face's score, box and landmarks; --draw writes a copy of each image with the boxes and landmarks drawn on it.
/// </summary>
internal static class FacesVerb
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "Image files, folders or globs.", Arity = ArgumentArity.OneOrMore };
        var draw = new Option<string?>("--draw") { Description = "Folder for copies with the faces drawn on (NAME.faces.png)." };
        var json = new Option<string?>("--json") { Description = "Also write every face (box, score, landmarks, aligned box, descriptor) as JSON." };
        var weights = new Option<string?>("--face-weights")
        {
            Description = $"Folder of the face networks (default $PFSTORER_FACE_WEIGHTS or weights/face-api, installed by {FaceWeights.InstallCommand}).",
        };
        var inputSize = new Option<int>("--input-size") { Description = "Detector input size (multiple of 32).", DefaultValueFactory = _ => 416 };
        var threshold = new Option<double>("--score-threshold") { Description = "Minimum detection score.", DefaultValueFactory = _ => 0.5 };
        var cmd = new Command("faces", "Detect faces and their landmarks (face-api's pretrained networks).") { images, draw, json, weights, inputSize, threshold };
        cmd.SetAction(parse => Run(parse.GetValue(images)!, parse.GetValue(draw), parse.GetValue(json), parse.GetValue(weights),
            new FaceDetectorOptions(parse.GetValue(inputSize), parse.GetValue(threshold))));
        return cmd;
    }

    internal static int Run(IEnumerable<string> arguments, string? drawDir, string? jsonPath, string? weightsDir, FaceDetectorOptions options)
    {
        try { options.Validate(); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"faces: {e.Message}");
            return 2;
        }
        var (files, problems) = ImageInputs.Expand(arguments);
        foreach (var p in problems) Console.Error.WriteLine($"faces: {p}");
        if (files.Count == 0) return 2;
        FaceAnalyzer analyzer;
        try { analyzer = FaceAnalyzer.Load(weightsDir); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or CheckpointFormatException)
        {
            Console.Error.WriteLine($"faces: {e.Message}");
            return 2;
        }
        using (analyzer)
        {
            var results = new JsonArray();
            int failures = 0;
            foreach (var file in files)
            {
                Image image;
                try { image = ImageFile.Read(file); }
                catch (ImageFormatException e)
                {
                    Console.Error.WriteLine($"faces: {e.Message}");
                    failures++;
                    continue;
                }
                var faces = analyzer.Analyze(FaceImage.From(image), options);
                Print(file, faces);
                results.Add(ToJson(file, faces));
                if (drawDir != null)
                {
                    string output = Path.Combine(drawDir, Path.GetFileNameWithoutExtension(file) + ".faces.png");
                    if (Path.GetFullPath(output) == Path.GetFullPath(file))
                    {
                        Console.Error.WriteLine($"faces: {output}: refusing to overwrite an input");
                        failures++;
                        continue;
                    }
                    var drawn = ImageFile.Encode(FaceDrawing.Draw(image, faces), ImageSaveOptions.Png());
                    Directory.CreateDirectory(drawDir);
                    AtomicFile.Write(output, stream => stream.Write(drawn));
                    Console.WriteLine($"  drawn: {output}");
                }
            }
            if (jsonPath != null)
                AtomicFile.Write(jsonPath, s => s.Write(Encoding.UTF8.GetBytes(new JsonObject { ["images"] = results }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
            return failures == 0 && problems.Count == 0 ? 0 : 1;
        }
    }

    private static void Print(string file, IReadOnlyList<AnalyzedFace> faces)
    {
        Console.WriteLine($"{file}: {faces.Count} face{(faces.Count == 1 ? "" : "s")}");
        if (faces.Count == 0) return;
        var table = new Table().AddColumn("#").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("x").RightAligned())
            .AddColumn(new TableColumn("y").RightAligned()).AddColumn(new TableColumn("width").RightAligned()).AddColumn(new TableColumn("height").RightAligned());
        for (int i = 0; i < faces.Count; i++)
        {
            var b = faces[i].Detection.Box;
            table.AddRow($"{i}", $"{faces[i].Detection.Score:F3}", $"{b.X:F1}", $"{b.Y:F1}", $"{b.Width:F1}", $"{b.Height:F1}");
        }
        AnsiConsole.Write(table);
        for (int i = 0; i < faces.Count; i++)
            Console.WriteLine($"  face {i} landmarks (x,y): " + string.Join(' ', faces[i].Landmarks.Points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:F1},{p.Y:F1}"))));
    }

    private static JsonObject ToJson(string file, IReadOnlyList<AnalyzedFace> faces)
    {
        static JsonObject Box(FaceBox b) => new() { ["x"] = b.X, ["y"] = b.Y, ["width"] = b.Width, ["height"] = b.Height };
        var list = new JsonArray();
        foreach (var f in faces)
            list.Add(new JsonObject
            {
                ["score"] = f.Detection.Score,
                ["box"] = Box(f.Detection.Box),
                ["landmarks"] = new JsonArray(f.Landmarks.Points.Select(p => (JsonNode)new JsonArray(p.X, p.Y)).ToArray()),
                ["aligned_box"] = Box(f.AlignedRect),
                ["descriptor"] = new JsonArray(f.Descriptor.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            });
        return new JsonObject { ["image"] = file, ["faces"] = list };
    }
}
