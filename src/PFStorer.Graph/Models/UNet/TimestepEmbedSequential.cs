using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// What every block of a UNet level may consume: the time embedding, the text context, the struct-cond features and,
/// when personalization blocks are attached, the personalization pass that tells them how the batch splits into streams.
/// With <see cref="Checkpointing"/>, ResBlocks and BasicTransformerBlocks recompute their forward in backward.
/// </summary>
public sealed record UNetConditioning(Tensor Emb, Tensor? Context = null, StructCond? StructCond = null, PersonalizationPass? Personalization = null,
    bool Checkpointing = false);

/// <summary>
/// One entry of input_blocks / middle_block / output_blocks: layers named "0", "1", … run in order, each given what it
/// takes (as upstream's TimestepEmbedSequential dispatches on the layer type).
/// </summary>
public sealed class TimestepEmbedSequential : Module
{
    private readonly List<Module> _layers = [];

    public IReadOnlyList<Module> Layers => _layers;

    public TimestepEmbedSequential(params Module[] layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    public T Add<T>(T layer) where T : Module
    {
        _layers.Add(Child(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return layer;
    }

    public Tensor Forward(Tensor x, UNetConditioning c)
    {
        Tensor? h = null;
        foreach (var layer in _layers)
        {
            using var input = h;
            h = Apply(layer, input ?? x, c);
        }
        return h ?? throw new InvalidOperationException("empty TimestepEmbedSequential");
    }

    public static Tensor Apply(Module layer, Tensor x, UNetConditioning c) => layer switch
    {
        ResBlock r => r.Forward(x, c.Emb, c.StructCond, c.Checkpointing),
        SpatialTransformer s => s.Forward(x, c.Context ?? throw new ArgumentException("SpatialTransformer needs a text context"), c.Personalization, c.Checkpointing),
        AttentionBlock a => a.Forward(x),
        Downsample d => d.Forward(x),
        Upsample u => u.Forward(x),
        Conv2d conv => conv.Forward(x),
        _ => throw new NotSupportedException($"{layer.GetType().Name} in a TimestepEmbedSequential"),
    };
}
