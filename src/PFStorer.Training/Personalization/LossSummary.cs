using System.Globalization;
using System.Text.Json;

namespace PFStorer.Training.Personalization;

/// <summary>
/// The loss at the start and the end of a run: the mean of each part over the first and the last <see cref="Window"/>
/// iterations — ten, or half the run when it is shorter, so start and end never share an iteration.
/// </summary>
public sealed record LossSummary(LossParts Start, LossParts End, int Iterations, int Window)
{
    public const int MaxWindow = 10;

    public static LossSummary Of(IReadOnlyList<LossParts> history)
    {
        if (history.Count == 0) return new(default, default, 0, 0);
        int w = Math.Max(1, Math.Min(MaxWindow, history.Count / 2));
        return new(Mean(history.Take(w)), Mean(history.Skip(history.Count - w)), history.Count, w);
    }

    private static LossParts Mean(IEnumerable<LossParts> parts)
    {
        var a = parts.ToArray();
        return new(a.Average(p => p.Diff), a.Average(p => p.Gen), a.Average(p => p.Pers), a.Average(p => p.Total));
    }

    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["iterations"] = Iterations,
        ["window"] = Window,
        ["start"] = Parts(Start),
        ["end"] = Parts(End),
    });

    private static Dictionary<string, string> Parts(LossParts p) => new()
    {
        ["L_diff"] = R(p.Diff), ["L_gen"] = R(p.Gen), ["L_pers"] = R(p.Pers), ["L"] = R(p.Total),
    };

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
