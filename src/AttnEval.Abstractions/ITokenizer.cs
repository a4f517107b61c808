namespace AttnEval.Abstractions;

/// <summary>
/// A model's tokenizer. Implementations adapt a library tokenizer (Microsoft.ML.Tokenizers);
/// AttnEval writes no tokenization algorithm of its own.
/// </summary>
public interface ITokenizer
{
    /// <summary>Vocabulary size; every id returned by <see cref="Encode"/> is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or null when the model has none.</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id, or null when the model has none.</summary>
    int? EosId { get; }

    /// <summary>Ids that end generation by default (EOS and any configured stop ids).</summary>
    IReadOnlyList<int> StopIds { get; }

    /// <summary>Encodes text the way the model was trained.</summary>
    /// <param name="text">Text to encode.</param>
    /// <param name="addBos">Prepend <see cref="BosId"/> when the model has one.</param>
    IReadOnlyList<int> Encode(string text, bool addBos = false);

    /// <summary>Decodes ids to text (special tokens dropped).</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>The text of one token as it appears inside a decoded sequence (for displays); never null.</summary>
    string TokenText(int id);
}
