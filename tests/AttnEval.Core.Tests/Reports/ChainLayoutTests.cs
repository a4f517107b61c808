using System.Text.Json.Nodes;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

/// <summary>UQAC's chain laid over the answer text (chain of TV-10, specs/uq-methods.md §7).</summary>
public sealed class ChainLayoutTests
{
    private static JsonObject Details(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Text_mode_finds_chain_tokens_in_order_and_outlines_the_answer()
    {
        // Response "Add 3 and 4: 7 is 7"; chain source ids [−1, 0, 2, 4, 6] = tokens "Add", " 3", " 4", " 7", answer " 7".
        var d = Details("""{"chain_tokens":["Add"," 3"," 4"," 7"," 7"],"chain_scores":[0.30,0.15,0.20,0.45,0.0],"answer_tokens":[" 7"]}""");
        var layout = ChainLayout.Build("Add 3 and 4: 7 is 7", d);
        layout.Segments.Select(s => (s.Text, s.Score, s.Answer)).Should().Equal(
            ("Add", 0.30 / 0.45, false), (" ", null, false), ("3", 0.15 / 0.45, false), (" and ", null, false), ("4", 0.20 / 0.45, false),
            (": ", null, false), ("7", 1.0, false), (" is ", null, false), ("7", 0.0, true));
        string.Concat(layout.Segments.Select(s => s.Text)).Should().Be("Add 3 and 4: 7 is 7");
        layout.Chain.Should().OnlyContain(c => c.Located);
    }

    [Fact]
    public void A_chain_token_missing_from_the_text_is_listed_not_guessed()
    {
        var layout = ChainLayout.Build("x = 4", Details("""{"chain_tokens":["y","4"],"chain_scores":[0.5,0.25]}"""));
        layout.Chain.Select(c => c.Located).Should().Equal(false, true);
        layout.Segments.Select(s => (s.Text, s.Score)).Should().Equal(("x = ", null), ("4", 0.5));
    }

    [Fact]
    public void Position_mode_uses_the_response_tokens_exactly()
    {
        // The second " 7" only: text search would have taken the first.
        var d = Details("""{"chain_tokens":[" 7"],"chain_scores":[0.4],"chain_positions":[3],"response_tokens":["a"," 7"," is"," 7"],"answer_positions":[3]}""");
        var layout = ChainLayout.Build("a 7 is 7", d);
        layout.Segments.Select(s => (s.Text, s.Score, s.Answer)).Should().Equal(("a", null, false), (" 7", null, false), (" is", null, false), (" 7", 1.0, true));
    }

    [Fact]
    public void Uqac_plugin_keys_positions_answer_range_and_token_ends()
    {
        // "Add 3 and 4: 7 is 7" as 8 tokens; ends are the decoded lengths through each token. Chain = positions 0, 1, 3, 5 and
        // the answer (position 7, also the answer range [7, 7]).
        var d = Details("""{"chain":[0,1,3,5,7],"chain_scores":[0.30,0.15,0.20,0.45,0.0],"answer_tokens":[7,7],"token_ends":[3,5,9,11,12,14,17,19]}""");
        var layout = ChainLayout.Build("Add 3 and 4: 7 is 7", d);
        layout.Segments.Select(s => (s.Text, s.Score, s.Answer)).Should().Equal(
            ("Add", 0.30 / 0.45, false), (" 3", 0.15 / 0.45, false), (" and", null, false), (" 4", 0.20 / 0.45, false),
            (":", null, false), (" 7", 1.0, false), (" is", null, false), (" 7", 0.0, true));
        layout.Chain.Select(c => c.Token).Should().Equal("Add", " 3", " 4", " 7", " 7");
    }

    [Fact]
    public void Positions_without_token_texts_are_listed_but_not_drawn()
    {
        var layout = ChainLayout.Build("x = 4", Details("""{"chain":[0,2],"chain_scores":[0.5,0.0],"answer_tokens":[2,2]}"""));
        layout.Segments.Should().ContainSingle().Which.Should().Be(new ChainSegment("x = 4", null, 0, false));
        layout.Chain.Select(c => (c.Token, c.Located)).Should().Equal(("#0", false), ("#2", false));
    }
}
