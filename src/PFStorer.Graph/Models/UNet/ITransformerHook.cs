namespace PFStorer.Graph.Models;

/// <summary>
/// An extra block hosted by a <see cref="SpatialTransformer"/> between its BasicTransformerBlocks and proj_out (where
/// ViCo places its image cross-attention and PFStorer its personalization block). It receives the token tensor
/// [B, H·W, C] and returns the residual [B, H·W, C] that the host adds to it; the caller owns the returned tensor.
/// </summary>
public interface ITransformerHook
{
    Tensor Residual(Tensor tokens);
}
