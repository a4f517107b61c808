using System.Text.RegularExpressions;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// Focus's keyword mask <c>K</c> without spaCy (specs/uq-attention-methods.md §4.3). LM-Polygraph flags a token when the
/// spaCy word it maps to is a named entity of 18 types or has part of speech NOUN, NUM or PROPN. .NET has no spaCy, so
/// this heuristic flags the <b>content words</b>: a word is a keyword when it contains a digit, or is not one of about
/// 200 English function words (<see cref="FunctionWords"/>: articles, pronouns, prepositions, conjunctions, auxiliary
/// and modal verbs, and a few very common adverbs), or is an acronym (two or more letters, all upper case: "US", "UN").
/// </summary>
/// <remarks>
/// <para>Why this rule: entities, numbers, proper and common nouns, which spaCy flags, are content words; function words,
/// which spaCy never flags, are what the list removes. The difference is that verbs, adjectives and adverbs outside the
/// list are flagged here and not by spaCy, so this K is a superset of spaCy's on typical text (identical on short factual
/// answers such as "Rome was Italy": K = {Rome, Italy}). Sentence-initial capitals do not matter: words are compared in
/// lower case.</para>
/// <para>Token alignment: the answer is decoded once and token <c>i</c> covers the characters added by decoding tokens
/// <c>0 … i</c> instead of <c>0 … i−1</c>. A token is a keyword when its characters overlap a keyword word. A token that
/// adds no letter or digit and no punctuation (special tokens such as EOS, which decode to nothing, and whitespace-only
/// tokens) takes the flag of the nearest earlier token, as LM-Polygraph's alignment does (an empty token string matches
/// the span its pointer is on, §4.3 quirks), so an answer ending in a keyword counts its EOS as a keyword.</para>
/// </remarks>
internal static partial class KeywordHeuristic
{
    /// <summary>The English function words that are never keywords (lower case; apostrophes as ').</summary>
    public static IReadOnlySet<string> FunctionWords { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        // articles, determiners, quantifiers
        "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "either", "neither", "no",
        "all", "both", "few", "many", "much", "more", "most", "less", "least", "several", "such", "other", "another", "own",
        "same", "enough",
        // pronouns and possessives
        "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself",
        "she", "her", "hers", "herself", "it", "its", "itself", "we", "us", "our", "ours", "ourselves", "they", "them",
        "their", "theirs", "themselves", "who", "whom", "whose", "which", "what", "whatever", "whoever", "whichever",
        "someone", "somebody", "something", "anyone", "anybody", "anything", "everyone", "everybody",
        "everything", "nobody", "nothing",
        // prepositions
        "about", "above", "across", "after", "against", "along", "among", "around", "as", "at", "before", "behind",
        "below", "beneath", "beside", "besides", "between", "beyond", "by", "despite", "down", "during", "except", "for",
        "from", "in", "inside", "into", "near", "of", "off", "on", "onto", "out", "outside", "over", "past", "per",
        "since", "than", "through", "throughout", "till", "to", "toward", "towards", "under", "underneath", "until", "up",
        "upon", "via", "with", "within", "without",
        // conjunctions and connectives
        "and", "but", "or", "nor", "so", "yet", "if", "unless", "because", "although", "though", "while", "whereas",
        "whether", "when", "whenever", "where", "wherever", "why", "how", "however", "therefore", "thus", "hence", "also",
        "then", "else", "instead",
        // auxiliary and modal verbs, with their contracted and negated forms
        "be", "am", "is", "are", "was", "were", "been", "being", "have", "has", "had", "having", "do", "does", "did",
        "doing", "done", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought",
        "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't", "hadn't", "doesn't", "don't", "didn't", "won't",
        "wouldn't", "shan't", "shouldn't", "can't", "cannot", "couldn't", "mustn't", "mightn't", "needn't",
        "i'm", "i've", "i'd", "i'll", "you're", "you've", "you'd", "you'll", "he's", "he'd", "he'll", "she's", "she'd",
        "she'll", "it's", "it'd", "it'll", "we're", "we've", "we'd", "we'll", "they're", "they've", "they'd", "they'll",
        "that's", "there's", "here's", "what's", "who's", "let's", "'s", "s", "t", "d", "ll", "re", "ve", "m",
        // very common adverbs and particles
        "not", "very", "too", "just", "only", "again", "once", "here", "there", "now", "ever", "even", "still", "already",
        "almost", "quite", "rather", "really", "always", "never", "often", "sometimes", "perhaps", "maybe", "yes",
        "well", "oh",
    };

    /// <summary>A word: letters, marks and digits, with inner apostrophes, hyphens or periods ("Italy's", "3.14", "e-mail").</summary>
    [GeneratedRegex(@"[\p{L}\p{M}\p{N}]+(?:['’\-.][\p{L}\p{M}\p{N}]+)*", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();

    /// <summary>True when <paramref name="word"/> is a keyword by the rule on the type.</summary>
    public static bool IsKeyword(string word)
    {
        if (word.Length == 0) return false;
        if (word.Any(char.IsDigit)) return true;
        int letters = word.Count(char.IsLetter);
        if (letters >= 2 && word.Where(char.IsLetter).All(char.IsUpper)) return true;
        return !FunctionWords.Contains(word.Replace('’', '\'').ToLowerInvariant());
    }

    /// <summary>The keyword mask of an answer's tokens (length n), by the rule and alignment on the type.</summary>
    /// <param name="tokenizer">The model's tokenizer (its <see cref="ITokenizer.Decode"/> drops special tokens).</param>
    /// <param name="tokens">The answer's token ids, stop token included.</param>
    public static bool[] Compute(ITokenizer tokenizer, IReadOnlyList<int> tokens)
    {
        int n = tokens.Count;
        var text = tokenizer.Decode(tokens);
        var ends = new int[n];
        for (int i = 0; i < n; i++)
            ends[i] = Math.Clamp(tokenizer.Decode(tokens.Take(i + 1)).Length, i > 0 ? ends[i - 1] : 0, text.Length);

        var keywordChars = new bool[text.Length];
        foreach (Match m in WordPattern().Matches(text))
            if (IsKeyword(m.Value))
                for (int c = m.Index; c < m.Index + m.Length; c++) keywordChars[c] = true;

        var mask = new bool[n];
        for (int i = 0; i < n; i++)
        {
            int start = i > 0 ? ends[i - 1] : 0, end = ends[i];
            bool blank = true;
            for (int c = start; c < end; c++)
            {
                if (!char.IsWhiteSpace(text[c])) blank = false;
                if (keywordChars[c]) mask[i] = true;
            }
            if (blank && i > 0) mask[i] = mask[i - 1];
        }
        return mask;
    }
}
