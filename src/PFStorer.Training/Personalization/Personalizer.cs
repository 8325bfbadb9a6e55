using System.Diagnostics;

namespace PFStorer.Training.Personalization;

/// <summary>Where a run is: iterations done of all, the last loss parts, their exponential moving average, the rate and the time left.</summary>
public readonly record struct PersonalizeProgress(int Iteration, int Iterations, LossParts Loss, LossParts Smoothed, double IterationsPerSecond, TimeSpan Remaining);

/// <summary>
/// Drives a <see cref="PersonalizationRun"/> to its iteration count for a service or the host: progress after every
/// iteration, cancellation between iterations, and the resumable state written to <c>statePath</c> whenever the run
/// stops early — cancelled (then <see cref="OperationCanceledException"/>) or diverged (then
/// <see cref="TrainingDivergedException"/>, the state holding the last finite weights).
/// </summary>
public static class Personalizer
{
    /// <summary>Weight of the newest iteration in the smoothed loss.</summary>
    public const double SmoothingWeight = 0.1;

    public static void Run(PersonalizationRun run, string statePath, Action<PersonalizeProgress>? progress = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        int first = run.Iteration, total = run.Settings.Iterations;
        LossParts? smoothed = null;
        while (run.Iteration < total)
        {
            if (cancel.IsCancellationRequested)
            {
                run.SaveState(statePath);
                throw new OperationCanceledException($"cancelled after iteration {run.Iteration}; state saved to {statePath}", cancel);
            }
            LossParts loss;
            try { loss = run.Step(); }
            catch (TrainingDivergedException)
            {
                run.SaveState(statePath);
                throw;
            }
            smoothed = smoothed is { } s ? Blend(s, loss) : loss;
            double rate = (run.Iteration - first) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            progress?.Invoke(new PersonalizeProgress(run.Iteration, total, loss, smoothed.Value, rate, TimeSpan.FromSeconds((total - run.Iteration) / Math.Max(rate, 1e-9))));
        }
    }

    private static LossParts Blend(LossParts s, LossParts x)
    {
        static double B(double a, double b) => (1 - SmoothingWeight) * a + SmoothingWeight * b;
        return new(B(s.Diff, x.Diff), B(s.Gen, x.Gen), B(s.Pers, x.Pers), B(s.Total, x.Total));
    }
}
