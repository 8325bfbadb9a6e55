using PFStorer.Training.Personalization;
using Xunit;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>
/// A service may train one identity while other engine work runs in the same process. Training must not notice: a run
/// gives the same adapter, bit for bit, alone and beside another training run on another thread (another model, other
/// photos' order, same shapes — so the two runs reuse each other's pool blocks all the time). This once failed: a tape
/// closure read the key mask of a personalization block after the block had disposed it, and whichever thread took
/// over that memory decided the gradients (docs/identity-files.md, "Concurrency").
/// </summary>
public sealed class ConcurrentTrainingTests
{
    private const int Iterations = 3;   // from the second step on the blocks are live (γ ≠ 0) and their mask matters

    private static float[][] Train(TinyPersonalization fx, ulong seed)
    {
        using var run = fx.Run(fx.Settings(Iterations, seed));
        for (int i = 0; i < Iterations; i++) run.Step();
        return run.Adapter.NamedParameters().Select(p => p.Param.Tensor.ToFloatArray()).ToArray();
    }

    [Fact]
    public async Task ATrainingRunIsBitIdenticalAloneAndBesideAnotherTrainingRun()
    {
        using var fx = new TinyPersonalization();
        using var other = new TinyPersonalization();
        var alone = Train(fx, 11);
        using var stop = new CancellationTokenSource();
        var background = Task.Run(() => { while (!stop.IsCancellationRequested) Train(other, 12); }, TestContext.Current.CancellationToken);
        try
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var beside = Train(fx, 11);
                for (int p = 0; p < alone.Length; p++)
                    Assert.True(alone[p].AsSpan().SequenceEqual(beside[p]), $"attempt {attempt}: adapter parameter {p} differs when another run trains concurrently");
            }
        }
        finally
        {
            stop.Cancel();
            await background;
        }
    }
}
