using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PFStorer.Images;
using PFStorer.Graph.Pipeline;
using PFStorer.Training.Optim;
using PFStorer.Training.Personalization;
using static PFStorer.Restore.HostMessages;

namespace PFStorer.Restore;

/// <summary>
/// `personalize`: learn a person from a few photos into one identity file (docs/identity-files.md). Every photo is read
/// before any training; the run is seeded (same photos, weights and settings → the same file, byte for byte, when
/// SOURCE_DATE_EPOCH fixes the recorded creation time); Ctrl-C or a diverging loss leaves "&lt;output&gt;.resume" for
/// --resume. Exit codes (docs/host.md): 0 done, 1 diverged, 2 bad input, 130 interrupted.
/// </summary>
internal static class PersonalizeVerb
{
    private static readonly PersonalizeSettings Defaults = new();
    private static readonly LearningRates DefaultRates = new();

    private static readonly Argument<string[]> Inputs = new("photos") { Description = "3–5 good photos of one person (files, folders or globs); each is centre-cropped to a square and resized to the model's training size.", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string> Output = new("--output", "-o") { Description = "Identity file to write (e.g. alice.pfid.safetensors).", Required = true };
    private static readonly Option<int> Iterations = new("--iterations") { Description = "Training iterations.", DefaultValueFactory = _ => Defaults.Iterations };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of every random choice (same seed, same identity file).", DefaultValueFactory = _ => Defaults.Seed };
    private static readonly Option<string> PlacementsOpt = new("--placements") { Description = "Where blocks go: decoder, all-decoder, all, or a comma-separated list of SpatialTransformer paths.", DefaultValueFactory = _ => Defaults.Placements };
    private static readonly Option<float> LrToken = new("--lr-token") { Description = "Learning rate of the token *.", DefaultValueFactory = _ => DefaultRates.Token };
    private static readonly Option<float> LrBlocks = new("--lr-blocks") { Description = "Learning rate of the personalization blocks.", DefaultValueFactory = _ => DefaultRates.Blocks };
    private static readonly Option<float> LrGamma = new("--lr-gamma") { Description = "Learning rate of γ.", DefaultValueFactory = _ => DefaultRates.Gamma };
    private static readonly Option<float> LambdaGen = new("--lambda-gen") { Description = "Weight of L_Gen (the LQ-free branch).", DefaultValueFactory = _ => Defaults.Losses.LambdaGen };
    private static readonly Option<float> LambdaPers = new("--lambda-pers") { Description = "Weight of L_Pers (attention-map loss).", DefaultValueFactory = _ => Defaults.Losses.LambdaPers };
    private static readonly Option<string> InitWord = new("--init-word") { Description = "Word whose embedding the token * starts from.", DefaultValueFactory = _ => Defaults.InitWord };
    private static readonly Option<string> DeviceOpt = new("--device") { Description = "cpu, cuda, or auto (the CPU until the CUDA path has been verified on a GPU).", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> Weights = new("--weights") { Description = "StableSR checkpoint (as for restore).", DefaultValueFactory = _ => Path.Combine("weights", "stablesr_000117.ckpt") };
    private static readonly Option<string> Vae = new("--vae") { Description = "CFW VAE checkpoint (as for restore).", DefaultValueFactory = _ => Path.Combine("weights", "vqgan_cfw_00011.ckpt") };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the interrupted run saved in <output>.resume (same photos and settings)." };
    private static readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace the identity file if it exists." };

    public static Command Create()
    {
        DeviceOpt.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var cmd = new Command("personalize", "Learn a person from 3–5 photos into an identity file for `restore --identity`.");
        cmd.Arguments.Add(Inputs);
        foreach (var o in new Option[] { Output, Iterations, Seed, PlacementsOpt, LrToken, LrBlocks, LrGamma, LambdaGen, LambdaPers, InitWord, DeviceOpt, Weights, Vae, Resume, Overwrite })
            cmd.Options.Add(o);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse, cancel)));
        return cmd;
    }

    private static int Run(ParseResult parse, CancellationToken cancel)
    {
        var settings = new PersonalizeSettings
        {
            Iterations = parse.GetValue(Iterations), Seed = parse.GetValue(Seed), Placements = parse.GetValue(PlacementsOpt)!,
            Rates = DefaultRates with { Token = parse.GetValue(LrToken), Blocks = parse.GetValue(LrBlocks), Gamma = parse.GetValue(LrGamma) },
            Losses = new LossWeights(parse.GetValue(LambdaGen), parse.GetValue(LambdaPers)),
            InitWord = parse.GetValue(InitWord)!,
        };
        try { settings.Validate(); }
        catch (ArgumentException e) { return Fail(ExitCodes.Usage, e.Message); }

        string output = Path.GetFullPath(parse.GetValue(Output)!), state = output + ".resume";
        bool resume = parse.GetValue(Resume);
        if (File.Exists(output) && !parse.GetValue(Overwrite)) return Fail(ExitCodes.Usage, $"{output} exists; it is kept (use --overwrite to replace it)");
        if (resume && !File.Exists(state)) return Fail(ExitCodes.Usage, $"{state}: no interrupted run to resume");

        var (files, problems) = ImageInputs.Expand(parse.GetValue(Inputs)!);
        var photos = new List<(string, Image)>();
        foreach (var file in files)
        {
            try { photos.Add((Path.GetFileName(file), ImageFile.Read(file))); }
            catch (Exception e) when (e is ImageFormatException or IOException or UnauthorizedAccessException)
            {
                problems.Add(e is ImageFormatException ? e.Message : $"{file}: {e.Message}");
            }
        }
        if (problems.Count > 0)
        {
            foreach (var p in problems) Error(p);
            return Fail(ExitCodes.Usage, "every photo must be readable; nothing was trained");
        }
        try { Directory.CreateDirectory(Path.GetDirectoryName(output)!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail(ExitCodes.Usage, $"{Path.GetDirectoryName(output)}: cannot create the output folder ({e.Message})"); }
        var faces = CheckFaces(photos);
        if (photos.Count < 3) Warning($"{photos.Count} photo(s): PFStorer learns a person from 3–5; fewer works but generalises less");

        StableSRWeights weights;
        Graph.Device device;
        var clock = Stopwatch.StartNew();
        try
        {
            device = Restorer.ResolveDevice(RestoreVerb.ParseDevice(parse.GetValue(DeviceOpt)), Precision.Fp32);
            weights = StableSRWeights.Load(parse.GetValue(Weights)!, parse.GetValue(Vae)!, device);
        }
        catch (Exception e) when (e is WeightsException or NotSupportedException or InvalidDataException) { return Fail(ExitCodes.Usage, e.Message); }
        using (weights)
        {
            if (weights.Config.UNet.ModelChannels != Graph.Models.StableSRConfig.Full512.UNet.ModelChannels)
                Console.WriteLine("NOTE: these are small demo weights with random values: the identity shows the pipeline at work, not a person learned.");
            PersonalizationRun run;
            try { run = new PersonalizationRun(weights.Model, photos, settings, device); }
            catch (ArgumentException e) { return Fail(ExitCodes.Usage, e.Message); }
            using (run)
            {
                run.FaceDescriptor = faces?.MeanDescriptor;
                if (resume)
                {
                    try { run.LoadState(state); }
                    catch (TrainingStateException e) { return Fail(ExitCodes.Usage, e.Message); }
                    Console.WriteLine($"resuming {state} at iteration {run.Iteration} of {settings.Iterations}");
                }
                Console.WriteLine($"personalizing on {photos.Count} photo(s) at {PersonalizationRun.PhotoSize(weights.Config)}² ({TrainingPhotos.PreparationNote.Split(',')[0]}), placements {string.Join(", ", run.Adapter.Blocks.Select(b => b.Placement))}, {settings.Iterations} iterations");
                int every = Math.Max(1, settings.Iterations / 50);
                try
                {
                    Personalizer.Run(run, state, p =>
                    {
                        if (p.Iteration % every == 0 || p.Iteration == p.Iterations || p.Iteration == 1) Console.WriteLine(Line(p));
                    }, cancel);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine($"interrupted after iteration {run.Iteration}; state saved to {state}; run the same command with --resume to continue");
                    return ExitCodes.Interrupted;
                }
                catch (TrainingDivergedException e)
                {
                    return Fail(ExitCodes.Failed, $"{e.Message}; the last good state (iteration {run.Iteration}) is in {state}; try a smaller learning rate");
                }
                run.WriteIdentity(output, CreationTime());
                File.Delete(state);
                var summary = LossSummary.Of(run.History);
                Console.WriteLine($"wrote {output} ({new FileInfo(output).Length / 1024.0:0.0} KiB) in {clock.Elapsed.TotalSeconds:0.0} s");
                Console.WriteLine($"loss (mean of {summary.Window} iterations): start {summary.Start.Total:0.0000} → end {summary.End.Total:0.0000}" +
                    $" (L_diff {summary.Start.Diff:0.0000} → {summary.End.Diff:0.0000}, L_gen {summary.Start.Gen:0.0000} → {summary.End.Gen:0.0000}, L_pers {summary.Start.Pers:0.000} → {summary.End.Pers:0.000})");
                foreach (var block in run.Adapter.Blocks)
                    Console.WriteLine($"  γ {block.Placement}: mean {block.Gamma.Tensor.ToFloatArray().Average():+0.0000e+0;-0.0000e+0}");
                Console.WriteLine($"restore with: ./pfstorer restore <photo> --identity {parse.GetValue(Output)}");
                return ExitCodes.Ok;
            }
        }
    }

    /// <summary>
    /// Warns when the photos do not look like one person (or show no face), with face-api's networks when they are
    /// installed; without them the check is skipped with a note. Training goes on either way: the user decides.
    /// </summary>
    private static ReferenceFaces? CheckFaces(IReadOnlyList<(string Name, Image Image)> photos)
    {
        Graph.Faces.FaceAnalyzer analyzer;
        try { analyzer = Graph.Faces.FaceAnalyzer.Load(); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or Graph.Checkpoints.CheckpointFormatException or DirectoryNotFoundException)
        {
            Console.WriteLine($"note: the same-person check of the photos is skipped ({e.Message})");
            return null;
        }
        using (analyzer)
        {
            var faces = ReferenceFaces.Check(analyzer, photos);
            foreach (var name in faces.WithoutFace) Warning($"{name}: no face found by the detector (a very tight crop is missed too); it is not part of the same-person check");
            foreach (var (name, distance) in faces.Outliers)
                Warning($"{name}: does not look like the same person as the other photos (face distance {distance:0.00} > {Graph.Faces.FaceDistance.SameIdentityThreshold}); remove it if it is someone else");
            return faces;
        }
    }

    private static string Line(PersonalizeProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"iteration {p.Iteration}/{p.Iterations}  L {p.Loss.Total:0.0000} (diff {p.Loss.Diff:0.0000} gen {p.Loss.Gen:0.0000} pers {p.Loss.Pers:0.000})  smoothed {p.Smoothed.Total:0.0000}  {p.IterationsPerSecond:0.00} it/s  ETA {p.Remaining:hh\\:mm\\:ss}");

    /// <summary>SOURCE_DATE_EPOCH (reproducible builds' convention) when set, else now.</summary>
    private static DateTimeOffset CreationTime() =>
        long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long epoch)
            ? DateTimeOffset.FromUnixTimeSeconds(epoch) : DateTimeOffset.UtcNow;
}
