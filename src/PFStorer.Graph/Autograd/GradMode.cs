namespace PFStorer.Graph.Autograd;

/// <summary>
/// Whether operations record a tape. Recording also needs an input that requires grad, so inference
/// (frozen weights, no trainable inputs) never records, whatever this says.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables recording on this thread until the returned scope is disposed.</summary>
    public static NoGradScope NoGrad()
    {
        _disabledDepth++;
        return new NoGradScope();
    }

    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => _disabledDepth--;
    }

    /// <summary>
    /// Enables recording on this thread until the returned scope is disposed, whatever the enclosing scopes say: a
    /// checkpointed block recomputes its forward on the tape from inside the backward pass, which runs without grad.
    /// </summary>
    public static EnableGradScope EnableGrad()
    {
        var scope = new EnableGradScope(_disabledDepth);
        _disabledDepth = 0;
        return scope;
    }

    public readonly struct EnableGradScope(int restore) : IDisposable
    {
        public void Dispose() => _disabledDepth = restore;
    }
}
