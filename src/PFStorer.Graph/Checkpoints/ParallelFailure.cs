using System.Runtime.ExceptionServices;

namespace PFStorer.Graph.Checkpoints;

/// <summary>Parallel loading reports a failure as itself: a bad file fails every worker alike, and the first error names the file.</summary>
internal static class ParallelFailure
{
    public static void Unwrap(Action body)
    {
        try { body(); }
        catch (AggregateException e) { ExceptionDispatchInfo.Throw(e.Flatten().InnerExceptions[0]); }
    }
}
