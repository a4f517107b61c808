namespace AttnEval.Metrics.ReceiverHeads.Tests;

public sealed class SentenceTests
{
    private static List<string> Split(string text, SentenceBoundaries b) =>
        SentenceSplitter.Split(text, b).Select(s => text[s.Start..s.End]).ToList();

    [Fact]
    public void Sentences_end_at_terminators_before_whitespace_and_at_blank_lines_and_tile_the_text()
    {
        const string text = "  Start with 3.5 apples. Why? Because!\nThen 2+2=4\nso 4.\n\nDone";
        var s = Split(text, SentenceBoundaries.Sentences);
        s.Should().Equal("  Start with 3.5 apples. ", "Why? ", "Because!\n", "Then 2+2=4\nso 4.\n\n", "Done");
        string.Concat(s).Should().Be(text);
    }

    [Fact]
    public void Lines_mode_also_splits_every_newline()
    {
        Split(" 23+45=68\n68*3=204\n#### 204", SentenceBoundaries.SentencesAndLines).Should().Equal(" 23+45=68\n", "68*3=204\n", "#### 204");
        Split(" 23+45=68\n68*3=204\n#### 204", SentenceBoundaries.Sentences).Should().Equal(" 23+45=68\n68*3=204\n#### 204");
    }

    [Fact]
    public void Whitespace_only_text_has_no_sentence()
    {
        SentenceSplitter.Split("", SentenceBoundaries.Sentences).Should().BeEmpty();
        SentenceSplitter.Split(" \n \n", SentenceBoundaries.SentencesAndLines).Should().BeEmpty();
    }
}
