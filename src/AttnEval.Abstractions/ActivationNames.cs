namespace AttnEval.Abstractions;

/// <summary>TransformerLens activation-point names (specs/head-methods.md §6.1), used as public names in both backends.</summary>
public static class ActivationNames
{
    /// <summary><c>blocks.{l}.attn.hook_pattern</c>: post-softmax attention, <c>[batch, head, q_pos, k_pos]</c>.</summary>
    public static string Pattern(int layer) => $"blocks.{layer}.attn.hook_pattern";
    /// <summary><c>blocks.{l}.attn.hook_attn_scores</c>: pre-softmax masked scores, <c>[batch, head, q_pos, k_pos]</c>.</summary>
    public static string AttnScores(int layer) => $"blocks.{layer}.attn.hook_attn_scores";
    /// <summary><c>blocks.{l}.attn.hook_q</c>: queries, <c>[batch, pos, head, d_head]</c>.</summary>
    public static string Q(int layer) => $"blocks.{layer}.attn.hook_q";
    /// <summary><c>blocks.{l}.attn.hook_z</c>: per-head output before W_O, <c>[batch, pos, head, d_head]</c>.</summary>
    public static string Z(int layer) => $"blocks.{layer}.attn.hook_z";
    /// <summary><c>blocks.{l}.hook_resid_post</c>: residual stream after the block, <c>[batch, pos, d_model]</c>.</summary>
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";
}
