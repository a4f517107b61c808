using System.Text.Json;
using AttnEval.Core.Prompts.ChatTemplates;
using AttnEval.TestSupport;

namespace AttnEval.Core.Tests.Prompts;

/// <summary>The model's own chat template: the 18 reference renderings of <c>data/tokenizers/chat_templates.jsonl</c>
/// (Llama 3, Qwen 3, DeepSeek V3, rendered by @huggingface/jinja and checked against transformers.js), and the Jinja
/// semantics and errors the interpreter owes on hand-written templates.</summary>
public sealed class ChatTemplateTests
{
    [SkippableFact]
    public void Renders_every_reference_conversation_exactly()
    {
        var data = SharedData.Require("tokenizers/chat_templates.jsonl");
        int n = 0;
        foreach (var line in File.ReadLines(data))
        {
            var r = JsonDocument.Parse(line).RootElement;
            var family = r.GetProperty("family").GetString()!;
            var template = ChatTemplate.FromModelFolder(SharedData.Require(Path.Combine("tokenizers", family)))!;
            var rendered = template.Render(r.GetProperty("messages"), r.GetProperty("add_generation_prompt").GetBoolean());
            rendered.Should().Be(r.GetProperty("rendered").GetString(), $"{family} {r.GetProperty("conv_id").GetString()}");
            n++;
        }
        n.Should().Be(18);
    }

    [SkippableFact]
    public void A_folder_without_a_template_has_none()
    {
        ChatTemplate.FromModelFolder(SharedData.Require("tokenizers/mistral")).Should().BeNull();
    }

    private static string Render(string template, bool addGenerationPrompt = true, params (string, string)[] messages) =>
        ChatTemplate.Parse(template, "t", new Dictionary<string, string> { ["bos_token"] = "<s>" }).Render(messages, addGenerationPrompt);

    [Fact]
    public void Blocks_trim_their_newline_and_leading_indent_and_minus_strips_whitespace()
    {
        Render("{% for m in messages %}\n  {{ m.role }}:{{ m.content }}\n{% endfor %}", true, ("user", "hi"), ("assistant", "yo"))
            .Should().Be("  user:hi\n  assistant:yo\n");
        Render("a  {%- if true -%}  b  {%- endif %}  c").Should().Be("ab  c");
        Render("x\n    {% if true %}y{% endif %}").Should().Be("x\ny");
    }

    [Fact]
    public void Expressions_follow_python_jinja()
    {
        Render("{{ bos_token + messages[0]['content'] | trim + '!' }}", true, ("user", "  hi  ")).Should().Be("<s>hi!");
        Render("{% set ns = namespace(n=0) %}{% for m in messages[::-1] %}{% set ns.n = ns.n + loop.index %}{% endfor %}{{ ns.n }}", true, ("a", ""), ("b", ""), ("c", ""))
            .Should().Be("6");
        Render("{{ messages|length - 1 }} {{ 'x' if messages[0].extra is defined else 'y' }} {{ messages[0].content.split('|')[-1].lstrip('-') }}", true, ("u", "a|--b"))
            .Should().Be("0 y b");
        Render("{{ none }} {{ true }} {{ [1, 'a'] }} {{ {'k': [1, 2]} | tojson }} {{ 7 // 2 }} {{ -7 % 3 }}").Should().Be("None True [1, 'a'] {\"k\": [1, 2]} 3 2");
        Render("{% if not add_generation_prompt is defined %}x{% elif add_generation_prompt %}g{% else %}n{% endif %}", false).Should().Be("n");
    }

    [Theory]
    [InlineData("hello {% macro m() %}{% endmacro %}", "t: chat_template 1:7: the 'macro' tag is not supported")]
    [InlineData("{% if true %}\n  {{ x | wordwrap }}{% endif %}", "t: chat_template 2:10: filter 'wordwrap' is not supported")]
    [InlineData("{% for m in messages %}", "t: chat_template 1:1: 'for' is never closed")]
    [InlineData("{{ raise_exception('Only user and assistant roles') }}", "t: chat_template 1:4: the template raised an error: Only user and assistant roles")]
    [InlineData("{{ 'a' + 1 }}", "t: chat_template 1:8: cannot add a string and an integer")]
    public void Unsupported_or_failing_constructs_are_named_with_their_position(string template, string expected)
    {
        var act = () => Render(template, true, ("user", "hi"));
        act.Should().Throw<ChatTemplateException>().WithMessage(expected + "*");
    }
}

/// <summary>The named formats are kept because they are exactly what the models' own templates render.</summary>
public sealed class NamedChatFormatTests
{
    private static string Reference(string family, string? system, string user)
    {
        var template = ChatTemplate.FromModelFolder(SharedData.Require(Path.Combine("tokenizers", family)))!;
        var turns = new List<(string, string)>();
        if (system is not null) turns.Add(("system", system));
        turns.Add(("user", user));
        return template.Render(turns, addGenerationPrompt: true);
    }

    [SkippableTheory]
    [InlineData(null, "What is 2+3?")]
    [InlineData("Answer briefly.", "  What is 2+3?\n")]
    public void Chatml_is_qwen3s_template(string? system, string user) =>
        AttnEval.Core.Prompts.PromptBuilder.Wrap(user, AttnEval.Core.Recipes.ChatFormat.ChatMl, system).Should().Be(Reference("qwen3", system, user));

    [SkippableTheory]
    [InlineData(null, "What is 2+3?")]
    [InlineData("Answer briefly.", "  What is 2+3?\n")]
    public void Llama3_is_llama3s_template_after_its_bos(string? system, string user) =>
        ("<|begin_of_text|>" + AttnEval.Core.Prompts.PromptBuilder.Wrap(user, AttnEval.Core.Recipes.ChatFormat.Llama3, system)).Should().Be(Reference("llama3", system, user));
}
