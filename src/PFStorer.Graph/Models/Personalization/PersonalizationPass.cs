namespace PFStorer.Graph.Models;

/// <summary>
/// What the personalization blocks need in one UNet forward beyond the text context (docs/personalization.md, "Streams"):
/// the batch holds the generated stream G in rows [0, GeneratedRows) and reference streams R after them (or, replaying a
/// recorded <see cref="ReferenceStream"/>, G alone); <see cref="ReferenceSlots"/>[i] is G row i's reference among the
/// distinct ones. <see cref="MapKeys"/> names, per batch row, the
/// context positions of the placeholder (or of the end-of-text token when the prompt has none) and of the first end-of-text
/// token, whose attention maps drive the masks and L_Pers. The pass collects L_Pers (summed over placements) and, when
/// asked, every placement's maps and masks. Owned by the caller; dispose it after backward.
/// </summary>
public sealed class PersonalizationPass : IDisposable
{
    private readonly Dictionary<string, PlacementMaps> _maps = [];

    public int GeneratedRows { get; }
    /// <summary>Per generated row, the index of its reference in <see cref="DistinctReferenceRows"/> (or in <see cref="Replay"/>).</summary>
    public int[] ReferenceSlots { get; }
    /// <summary>[rows·2]: per batch row, the placeholder (or end-of-text) position and the end-of-text position.</summary>
    public int[] MapKeys { get; }
    /// <summary>The distinct reference rows of the batch in increasing order; empty when replaying.</summary>
    public int[] DistinctReferenceRows { get; }
    /// <summary>The reference stream recorded earlier at this timestep, read instead of reference rows the batch no longer holds.</summary>
    public ReferenceStream? Replay { get; }
    /// <summary>Where the blocks record what they read from the batch's reference rows, for later passes to replay (inference).</summary>
    public ReferenceStream? Record { get; init; }
    /// <summary>Inference scale of γ (λatt); 1 in training, 0 leaves only the learned token.</summary>
    public float LambdaAtt { get; init; } = 1f;
    /// <summary>Whether L_Pers is computed (training).</summary>
    public bool ComputeLoss { get; init; }
    /// <summary>Whether each placement's maps and masks are kept for inspection (tests, diagnostics).</summary>
    public bool KeepMaps { get; init; }

    /// <summary>Σ over placements of L_Pers (a differentiable scalar), once a forward with <see cref="ComputeLoss"/> has run.</summary>
    public Tensor? PersonalizationLoss { get; private set; }
    public IReadOnlyDictionary<string, PlacementMaps> Maps => _maps;

    public PersonalizationPass(int generatedRows, IReadOnlyList<int> referenceRows, int[] mapKeys)
    {
        int rows = mapKeys.Length / 2;
        if (referenceRows.Count != generatedRows) throw new ArgumentException($"{generatedRows} generated rows need as many reference rows, got {referenceRows.Count}");
        if (referenceRows.Any(r => r < generatedRows || r >= rows))
            throw new ArgumentException($"reference rows must follow the {generatedRows} generated rows within the batch of {rows}");
        GeneratedRows = generatedRows;
        MapKeys = mapKeys;
        DistinctReferenceRows = referenceRows.Distinct().Order().ToArray();
        ReferenceSlots = referenceRows.Select(r => Array.IndexOf(DistinctReferenceRows, r)).ToArray();
    }

    /// <summary>
    /// A pass whose batch is the generated stream alone, each row reading reference <paramref name="referenceSlots"/>[i] of
    /// <paramref name="replay"/>. It has no reference maps, so it computes no L_Pers and keeps no maps.
    /// </summary>
    public PersonalizationPass(ReferenceStream replay, int[] referenceSlots, int[] mapKeys)
    {
        if (referenceSlots.Length != mapKeys.Length / 2) throw new ArgumentException($"{mapKeys.Length / 2} generated rows need as many reference slots, got {referenceSlots.Length}");
        if (referenceSlots.Any(s => s < 0 || s >= replay.Rows)) throw new ArgumentException($"reference slots must index the {replay.Rows} recorded reference rows");
        GeneratedRows = referenceSlots.Length;
        MapKeys = mapKeys;
        DistinctReferenceRows = [];
        ReferenceSlots = referenceSlots;
        Replay = replay;
    }

    /// <summary>
    /// Map keys of one prompt's token ids: the first <paramref name="placeholderId"/> position (the first end-of-text
    /// position when the prompt has no placeholder, as in the negative CFG branch) and the first end-of-text position.
    /// </summary>
    public static (int Placeholder, int EndOfText) KeysOf(ReadOnlySpan<long> ids, long placeholderId, long endOfTextId)
    {
        int eot = ids.IndexOf(endOfTextId);
        if (eot < 0) throw new ArgumentException("the prompt's token ids hold no end-of-text token");
        int star = ids.IndexOf(placeholderId);
        return (star < 0 ? eot : star, eot);
    }

    internal void AddLoss(Tensor placementLoss)
    {
        if (PersonalizationLoss == null) { PersonalizationLoss = placementLoss; return; }
        var sum = F.Add(PersonalizationLoss, placementLoss);
        PersonalizationLoss.Dispose();
        placementLoss.Dispose();
        PersonalizationLoss = sum;
    }

    internal void Keep(string placement, PlacementMaps maps) => _maps[placement] = maps;

    public void Dispose()
    {
        PersonalizationLoss?.Dispose();
        foreach (var m in _maps.Values) m.Dispose();
    }
}

/// <summary>
/// A placement's reference maps ([distinct reference rows][HW]), the mask of each reference row, and the block's inputs —
/// the generated tokens, the reference tokens and the key mask they met — so a diagnostic can recompute δ.
/// </summary>
public sealed record PlacementMaps(float[][] Placeholder, float[][] EndOfText, ReferenceMask[] Masks,
    Tensor Generated, Tensor Reference, Tensor KeyMask) : IDisposable
{
    public void Dispose()
    {
        Generated.Dispose();
        Reference.Dispose();
        KeyMask.Dispose();
    }
}
