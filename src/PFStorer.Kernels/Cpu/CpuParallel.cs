namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Splits a loop over independent work items into contiguous ranges run by <see cref="Parallel.For(int, int, Action{int})"/>.
/// Small loops stay on the calling thread: below <c>minItemsPerTask</c> items a task costs more than it saves.
/// </summary>
internal static class CpuParallel
{
    public static void For(long count, long minItemsPerTask, Action<long, long> body)
    {
        if (count <= 0) return;
        long tasks = Math.Min(Environment.ProcessorCount * 4L, count / Math.Max(1, minItemsPerTask));
        if (tasks <= 1)
        {
            body(0, count);
            return;
        }
        long per = (count + tasks - 1) / tasks;
        Parallel.For(0, (int)tasks, t =>
        {
            long start = t * per, end = Math.Min(count, start + per);
            if (start < end) body(start, end);
        });
    }
}
