namespace AttnEval.Abstractions;

/// <summary>
/// Where a model comes from and how to place it; the <c>model:</c> section of a recipe.
/// </summary>
/// <param name="Path">A model folder (HF layout) or a checkpoint file (llama2.c <c>.bin</c>).</param>
/// <param name="Backend">Backend name, e.g. <c>torchsharp</c> or <c>onnx</c>.</param>
/// <param name="Device"><c>cpu</c> or <c>cuda</c>/<c>cuda:N</c>.</param>
/// <param name="DType"><c>float32</c>, <c>float16</c> or <c>bfloat16</c>.</param>
public sealed record ModelSource(string Path, string Backend = "torchsharp", string Device = "cpu", string DType = "float32")
{
    /// <summary>Optional tokenizer path when it is not beside the weights (llama2.c <c>tokenizer.bin</c>, SentencePiece <c>.model</c>, ...).</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Backend-specific options (e.g. <c>threads</c>), as strings from the recipe.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
}
