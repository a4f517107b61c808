using System.Security.Cryptography;
using System.Text;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// The eliciting prompt of CSL (specs/uq-attention-methods.md §3.1): a judging instruction with one <c>{q}</c>
/// placeholder for the question, directly followed by the answer tokens and then <see cref="Suffix"/>.
/// </summary>
/// <remarks>
/// The built-in template is AttnEval's own short zero-shot text (our rule: no text is copied from other projects), so
/// CSL values with it differ from LM-Polygraph's, whose few-shot template shapes the attention of the last query. A user
/// can supply LM-Polygraph's template in a file (<c>template_file</c>) for parity; <see cref="Kind"/> then says
/// <c>lm-polygraph</c> when the file's bytes hash to <see cref="LmPolygraphSha256"/>.
/// </remarks>
internal sealed class ElicitingTemplate
{
    /// <summary>The placeholder replaced by the question text.</summary>
    public const string Placeholder = "{q}";

    /// <summary>Tokenised without special tokens after the answer (spec §3.1): the eliciting pass's last query is its last token.</summary>
    public const string Suffix = "\n\nDecision:";

    /// <summary>SHA-256 of LM-Polygraph's template at <c>efea882d</c> (<c>stat_calculators/attention_eliciting_prompt.py</c>,
    /// 1142 characters as UTF-8, no trailing newline; spec §3.1).</summary>
    public const string LmPolygraphSha256 = "0b35bcd0807227163c841a7555f0f437ca611c1a72256b0e4b4c4099b873801a";

    /// <summary>AttnEval's built-in template (ends right before the answer; the answer's first token usually carries its own leading space).</summary>
    public const string BuiltIn =
        "You will see a question and a proposed answer. Decide whether the answer is correct and reply Y or N.\n\n" +
        "Question: {q}\n" +
        "Proposed answer:";

    private ElicitingTemplate(string text, string kind, string? sha256)
    {
        Text = text;
        Kind = kind;
        Sha256 = sha256;
    }

    /// <summary>The template text, with exactly one <see cref="Placeholder"/>.</summary>
    public string Text { get; }

    /// <summary><c>builtin</c>, <c>lm-polygraph</c> (a file identical to LM-Polygraph's template) or <c>custom</c>.</summary>
    public string Kind { get; }

    /// <summary>Hex SHA-256 of the file's bytes, or null for the built-in template.</summary>
    public string? Sha256 { get; }

    /// <summary>The built-in template.</summary>
    public static ElicitingTemplate Default { get; } = new(BuiltIn, "builtin", null);

    /// <summary>Reads a template file, byte-exact as UTF-8 (a leading byte-order mark is dropped from the text, not from the hash).</summary>
    /// <param name="bytes">The file's content.</param>
    /// <exception cref="InvalidDataException">The text does not hold exactly one <c>{q}</c>, or is not UTF-8.</exception>
    public static ElicitingTemplate FromBytes(byte[] bytes)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new InvalidDataException("the template is not valid UTF-8"); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        int count = 0;
        for (int i = text.IndexOf(Placeholder, StringComparison.Ordinal); i >= 0; i = text.IndexOf(Placeholder, i + Placeholder.Length, StringComparison.Ordinal)) count++;
        if (count != 1) throw new InvalidDataException($"the template must hold the placeholder {Placeholder} exactly once, found {count}");
        return new ElicitingTemplate(text, sha == LmPolygraphSha256 ? "lm-polygraph" : "custom", sha);
    }

    /// <summary>The template with the question in place of <c>{q}</c> (literal replacement; no other brace is interpreted).</summary>
    public string Render(string question) => Text.Replace(Placeholder, question, StringComparison.Ordinal);
}
