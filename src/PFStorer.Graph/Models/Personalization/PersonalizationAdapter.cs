using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// Everything PFStorer learns about one person (docs/personalization.md): one <see cref="PersonalizationBlock"/> per
/// placement, registered as "{placement}.personalization" (so its keys say where it sits, as it appears inside the UNet
/// once attached), and the learnable placeholder-token embedding "token" of the text encoder's width. All trainable.
/// Attaching hangs the blocks into a loaded base UNet without touching its weights; detaching restores the base.
/// </summary>
public sealed class PersonalizationAdapter : Module
{
    private UNetModelDualcondV2? _host;

    public IReadOnlyList<PersonalizationBlock> Blocks { get; }
    public Parameter Token { get; }

    public PersonalizationAdapter(UNetModelDualcondV2 unet, IReadOnlyList<string> placements, int textWidth)
    {
        var transformers = unet.SpatialTransformers().ToDictionary(s => s.Path, s => s.Transformer);
        Blocks = placements.Select(p =>
        {
            if (!transformers.TryGetValue(p, out var st)) throw new ArgumentException($"placement '{p}' is not a SpatialTransformer of this UNet");
            return Child($"{p}.personalization", new PersonalizationBlock(p, st.ProjIn.Weight.Shape[0]));
        }).ToArray();
        Token = TrainableParam("token", textWidth);
    }

    /// <summary>Fresh weights: each block initialised in placement order from <paramref name="seed"/>, γ = 0, the token = <paramref name="tokenInit"/>.</summary>
    public void Initialise(int seed, Tensor tokenInit)
    {
        var rng = new Random(seed);
        foreach (var block in Blocks) block.Initialise(rng, tokenInit.Device);
        Token.Assign(tokenInit.Clone());   // never alias the frozen embedding table the row came from
    }

    public void Attach(UNetModelDualcondV2 unet)
    {
        if (_host != null) throw new InvalidOperationException("this personalization is already attached to a UNet");
        var transformers = unet.SpatialTransformers().ToDictionary(s => s.Path, s => s.Transformer);
        foreach (var block in Blocks) transformers[block.Placement].Attach(block);
        _host = unet;
    }

    public void Detach()
    {
        if (_host == null) return;
        var transformers = _host.SpatialTransformers().ToDictionary(s => s.Path, s => s.Transformer);
        foreach (var block in Blocks) transformers[block.Placement].Detach();
        _host = null;
    }

    public override void Dispose()
    {
        Detach();
        base.Dispose();
    }
}
