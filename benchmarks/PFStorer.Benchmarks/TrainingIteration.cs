using System.Diagnostics;
using PFStorer.Graph;
using PFStorer.Graph.Autograd;
using PFStorer.Graph.Models;
using PFStorer.Kernels.Memory;
using PFStorer.Training.Optim;
using PFStorer.Training.Personalization;

namespace PFStorer.Benchmarks;

/// <summary>
/// One PFStorer training iteration (objective forward, backward, AdamW step) on the CPU backend with random weights in
/// the official layout, timed by phase, with the peak host memory (process peak RSS and the tensor pool's peak). A full
/// 512 iteration takes many minutes on a few cores, so this is a plain timed run instead of a BenchmarkDotNet job, one
/// configuration per process (the peak RSS is the process's):
///
///   dotnet run -c Release --project benchmarks/PFStorer.Benchmarks -- training tiny|512 [options]
///     --iterations N        iterations to time (default 3 for tiny, 1 for 512); the first is reported separately
///     --checkpointing       recompute the UNet's blocks in backward instead of storing every activation
///     --placements SPEC     decoder (default), all-decoder, all or a list
///     --reference-share     instead: the share of the reference stream, as one no-grad forward of the time-aware
///                           encoder and the UNet with the three training rows against one without the reference row
/// </summary>
public static class TrainingIteration
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("tiny" or "512"))
        {
            Console.Error.WriteLine("usage: training tiny|512 [--iterations N] [--checkpointing] [--placements SPEC] [--reference-share]");
            return 2;
        }
        bool full = args[0] == "512";
        int iterations = Option(args, "--iterations") is { } n ? int.Parse(n) : full ? 1 : 3;
        bool checkpointing = args.Contains("--checkpointing");
        string placements = Option(args, "--placements") ?? Placements.Decoder;

        var config = full ? StableSRConfig.Full512 : StableSRConfig.Load(TinyConfigPath());
        int side = config.ImageSize / 8;
        var clock = Stopwatch.StartNew();
        using var model = new LatentDiffusionSRTextWT(config);
        var rng = new Random(1234);
        // The VAE is not part of a latent-space training iteration and stays unloaded.
        foreach (var module in new PFStorer.Graph.Modules.Module[] { model.DiffusionModel, model.StructCondStageModel, model.CondStageModel })
            RandomWeights.Fill(module, rng);
        Console.WriteLine($"{args[0]}: random weights for the UNet, time-aware encoder and text encoder in {clock.Elapsed.TotalSeconds:F1} s; latent {side}×{side}");

        using var example = Example(rng, side, config.Text.Width);
        if (args.Contains("--reference-share")) return ReferenceShare(model, example, repeats: full ? 1 : 5);

        var unet = model.DiffusionModel;
        using var adapter = new PersonalizationAdapter(unet, Placements.Resolve(placements, unet), config.Text.Width);
        using (var token = RandomWeights.Uniform(rng, 1f, config.Text.Width)) adapter.Initialise(1, token);
        // γ = 0 would leave the blocks without gradient work; a trained identity has non-zero γ.
        foreach (var block in adapter.Blocks) block.Gamma.Assign(RandomWeights.Uniform(rng, 0.1f, block.Dim));
        adapter.Attach(unet);
        var objective = new PersonalizationObjective(model, adapter, new LossWeights(), SimpleTokenizer.Default.PlaceholderId, SimpleTokenizer.Default.EndId)
        {
            GradientCheckpointing = checkpointing,
        };
        using var optimiser = new AdamW(PersonalizationGroups.For(adapter, new LearningRates()));
        Console.WriteLine($"placements {placements} ({adapter.Blocks.Count} blocks, {adapter.ParameterCount() / 1e6:F2} M trainable), " +
            $"gradient checkpointing {(checkpointing ? "on" : "off")}, {Environment.ProcessorCount} cores");

        for (int i = 0; i < iterations; i++)
        {
            var forward = Stopwatch.StartNew();
            using var result = objective.Forward(example.Value);
            forward.Stop();
            long afterForward = HostMemoryPool.Shared.Counters.BytesInUse;
            var backward = Stopwatch.StartNew();
            result.Backward();
            backward.Stop();
            var step = Stopwatch.StartNew();
            optimiser.Step();
            optimiser.ZeroGrad();
            step.Stop();
            var parts = result.Values();
            double total = forward.Elapsed.TotalSeconds + backward.Elapsed.TotalSeconds + step.Elapsed.TotalSeconds;
            Console.WriteLine($"iteration {i + 1}: {total:F3} s = forward {forward.Elapsed.TotalSeconds:F3} + backward {backward.Elapsed.TotalSeconds:F3} + " +
                $"AdamW {step.Elapsed.TotalSeconds:F4}; tensors held after forward {afterForward / 1e9:F2} GB; L = {parts.Total:G5}");
        }
        PrintMemory();
        return 0;
    }

    /// <summary>No-grad forwards of the time-aware encoder and the plain UNet with the three rows (G, G null, R) and with the two G rows.</summary>
    private static int ReferenceShare(LatentDiffusionSRTextWT model, ExampleTensors example, int repeats)
    {
        using var noGrad = GradMode.NoGrad();
        using var context = model.CondStageModel.Forward(example.Value.TokenIds);
        double Time(int rows)
        {
            var clock = Stopwatch.StartNew();
            var latents = new[] { example.Value.NoisyTarget, example.Value.NoisyTarget, example.Value.Reference }[..rows];
            using var x = F.Concat(latents, 0);
            using var t = Tensor.FromArray(Enumerable.Repeat(example.Value.Timestep, rows).ToArray(), rows);
            using var ctx = F.Concat(Enumerable.Repeat(context, rows).ToArray(), 0);
            using var structCond = model.StructCondStageModel.Forward(x, t);
            using var eps = model.DiffusionModel.Forward(x, t, ctx, structCond);
            return clock.Elapsed.TotalSeconds;
        }
        // The tiny model's forwards take milliseconds: the least of several alternating runs, after a warm-up of each.
        double three = double.MaxValue, two = double.MaxValue;
        if (repeats > 1) { Time(3); Time(2); }
        for (int i = 0; i < repeats; i++)
        {
            three = Math.Min(three, Time(3));
            two = Math.Min(two, Time(2));
        }
        Console.WriteLine($"no-grad forward, encoder + UNet: 3 rows {three:F3} s, 2 rows (no reference) {two:F3} s; " +
            $"reference stream share {(three - two) / three:P1}");
        PrintMemory();
        return 0;
    }

    private static void PrintMemory()
    {
        var pool = HostMemoryPool.Shared.Counters;
        Console.WriteLine($"peak host memory: process peak RSS {PeakRssBytes() / 1e9:F2} GB; tensor pool peak in use {pool.PeakBytesInUse / 1e9:F2} GB, " +
            $"reserved {pool.BytesReserved / 1e9:F2} GB");
    }

    // VmHWM: the process's peak resident set, Linux only.
    private static long PeakRssBytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line == null ? -1 : long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    // The tiny configuration of the test fixtures, found from the working directory upwards.
    private static string TinyConfigPath()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "fixtures", "stablesr-tiny", "config.json");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("tests/fixtures/stablesr-tiny/config.json not found above the working directory; run from the repository");
    }

    private static ExampleTensors Example(Random rng, int side, int textWidth)
    {
        int[] latent = [1, 4, side, side];
        using var ids = Tensor.FromArray(SimpleTokenizer.Default.Tokenize("a photo of *"), 1, 77);
        return new ExampleTensors(new TrainingExample(RandomWeights.Uniform(rng, 1f, latent), RandomWeights.Uniform(rng, 1f, latent),
            RandomWeights.Uniform(rng, 1f, latent), RandomWeights.Uniform(rng, 1f, latent), 500, ids.Share()));
    }

    private sealed class ExampleTensors(TrainingExample value) : IDisposable
    {
        public TrainingExample Value { get; } = value;

        public void Dispose()
        {
            foreach (var t in new[] { Value.NoisyTarget, Value.LowQuality, Value.Reference, Value.Noise, Value.TokenIds }) t.Dispose();
        }
    }
}
