using AttnEval.Abstractions;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>What <c>attneval tokenize</c> shows beyond <see cref="ITokenizer"/>: the vocabulary form of each token and
/// decoding that keeps special tokens (Hugging Face's <c>convert_ids_to_tokens</c> and
/// <c>decode(ids, skip_special_tokens)</c>).</summary>
public interface ITokenizerDetails : ITokenizer
{
    /// <summary>The token as the vocabulary spells it (<c>Ġworld</c>, <c>▁Hello</c>, <c>&lt;0x0A&gt;</c>, <c>&lt;s&gt;</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id has no token.</exception>
    string TokenString(int id);

    /// <summary>Decodes ids to text.</summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecialTokens">Drop special tokens (true is what <see cref="ITokenizer.Decode"/> does).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the model's vocabulary (ids are never dropped
    /// silently; an id of the model's vocabulary without a token decodes as <c>&lt;unk:ID&gt;</c>).</exception>
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens);
}
