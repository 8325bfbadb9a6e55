using PFStorer.Kernels;

namespace PFStorer.Graph.Models;

/// <summary>
/// What the personalization blocks of one UNet call read from the reference rows (docs/identity-files.md, "Reference-stream
/// cache"): per placement, the distinct reference rows' tokens [n,T,d] after the host's BasicTransformerBlocks and each
/// row's mask. A two-stream pass records it (<see cref="PersonalizationPass.Record"/>); a later pass at the same timestep
/// replays it (<see cref="PersonalizationPass.Replay"/>) and carries the generated rows alone. Owns its tensors.
/// </summary>
public sealed class ReferenceStream : IDisposable
{
    private readonly Dictionary<string, (Tensor Tokens, ReferenceMask[] Masks)> _placements = [];

    /// <summary>The distinct reference rows recorded (the same at every placement).</summary>
    public int Rows { get; private set; }

    /// <summary>Memory held: the tokens (device) and the masks (host, normalised map and kept keys per token).</summary>
    public long Bytes => _placements.Values.Sum(p => p.Tokens.Numel * p.Tokens.DType.Size()
        + p.Masks.Sum(m => (long)m.Normalised.Length * sizeof(double) + (long)m.Keep.Length * sizeof(float)));

    /// <summary>A placement's tokens (a share: the caller disposes it) and masks.</summary>
    public (Tensor Tokens, ReferenceMask[] Masks) Of(string placement) =>
        _placements.TryGetValue(placement, out var p) ? (p.Tokens.Share(), p.Masks)
            : throw new InvalidOperationException($"the recorded reference stream holds no placement {placement}");

    internal void Add(string placement, Tensor tokens, ReferenceMask[] masks)
    {
        if (_placements.Count > 0 && tokens.Dim(0) != Rows)
            throw new InvalidOperationException($"placement {placement} records {tokens.Dim(0)} reference rows, the others {Rows}");
        _placements.Add(placement, (tokens.Share(), masks));
        Rows = tokens.Dim(0);
    }

    public void Dispose()
    {
        foreach (var p in _placements.Values) p.Tokens.Dispose();
        _placements.Clear();
    }
}
