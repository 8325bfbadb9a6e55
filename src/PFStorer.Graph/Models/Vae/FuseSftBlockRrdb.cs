using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// CFW's Fuse_sft_block_RRDB: e = encode_enc_1(concat[enc, dec]) (2C→C; upstream's model.py ResBlock, which is the
/// ResnetBlock math with its 1×1 shortcut named "conv_out"), num_fuse_block RRDBs (encode_enc_2.0, …), encode_enc_3
/// (C→C); out = dec + w·e. w is the fidelity knob (--dec_w; 0 = the plain SD decoder).
/// </summary>
public sealed class FuseSftBlockRrdb : Module
{
    public ResnetBlock EncodeEnc1 { get; }
    public IReadOnlyList<Rrdb> EncodeEnc2 { get; }
    public ResnetBlock EncodeEnc3 { get; }

    public FuseSftBlockRrdb(int channels, int numBlocks)
    {
        EncodeEnc1 = Child("encode_enc_1", new ResnetBlock(2 * channels, channels, shortcutName: "conv_out"));
        EncodeEnc2 = Enumerable.Range(0, numBlocks).Select(i => Child($"encode_enc_2.{i}", new Rrdb(channels))).ToArray();
        EncodeEnc3 = Child("encode_enc_3", new ResnetBlock(channels, channels));
    }

    public Tensor Forward(Tensor encoderFeature, Tensor decoderFeature, float w)
    {
        using var cat = F.Concat([encoderFeature, decoderFeature], 1);
        var e = EncodeEnc1.Forward(cat);
        foreach (var rrdb in EncodeEnc2)
        {
            using var prev = e;
            e = rrdb.Forward(prev);
        }
        using (var prev = e) e = EncodeEnc3.Forward(prev);
        using (e)
        using (var residual = F.Scale(e, w))
            return F.Add(decoderFeature, residual);
    }
}
