using System.Globalization;
using System.Text;
using AttnEval.Abstractions;
using AttnEval.Core.Recipes;

namespace AttnEval.Core.Prompts;

/// <summary>Builds the text a model sees for one sample: the recipe's template filled from the sample, wrapped in
/// the chat format (none, Llama 3 headers, ChatML).</summary>
public static class PromptBuilder
{
    /// <summary>Renders the prompt of <paramref name="sample"/>. <c>{{input}}</c> and <c>{{target}}</c> name the mapped
    /// fields; any other placeholder is a (dotted) field of the raw record.</summary>
    /// <exception cref="KeyNotFoundException">A placeholder names a field the sample lacks; the message names the sample id.</exception>
    public static string Build(PromptSpec prompt, Sample sample)
    {
        string user;
        try
        {
            user = prompt.Render(key => key switch
            {
                "input" => sample.Input,
                "target" => sample.Target,
                _ => sample.Field(key) is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) : null,
            });
        }
        catch (KeyNotFoundException e)
        {
            throw new KeyNotFoundException($"sample {sample.Id}: {e.Message}", e);
        }
        if (prompt.Chat == ChatFormat.Auto)
        {
            var template = prompt.ModelTemplate ?? throw new InvalidOperationException("prompt.chat is auto but no chat template was read with the recipe");
            var turns = new List<(string Role, string Content)>();
            if (!string.IsNullOrEmpty(prompt.System)) turns.Add(("system", prompt.System));
            turns.Add(("user", user));
            return template.Render(turns, addGenerationPrompt: true);
        }
        return Wrap(user, prompt.Chat, prompt.System);
    }

    /// <summary>Wraps a user message (and optional system message) in a chat format, ending where the assistant's
    /// answer starts. Llama 3: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;</c> with each
    /// content trimmed, exactly Llama 3 Instruct's template after its <c>bos_token</c> (which the tokenizer adds here);
    /// ChatML: <c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;\n</c>, exactly Qwen 3's template for a system and a user
    /// turn (Qwen 2.5's adds a default system message when none is given: use <c>auto</c> for it).</summary>
    public static string Wrap(string user, ChatFormat chat, string? system = null)
    {
        var sb = new StringBuilder();
        switch (chat)
        {
            case ChatFormat.Llama3:
                if (!string.IsNullOrEmpty(system))
                    sb.Append("<|start_header_id|>system<|end_header_id|>\n\n").Append(system.Trim()).Append("<|eot_id|>");
                sb.Append("<|start_header_id|>user<|end_header_id|>\n\n").Append(user.Trim()).Append("<|eot_id|>")
                  .Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case ChatFormat.ChatMl:
                if (!string.IsNullOrEmpty(system))
                    sb.Append("<|im_start|>system\n").Append(system).Append("<|im_end|>\n");
                sb.Append("<|im_start|>user\n").Append(user).Append("<|im_end|>\n<|im_start|>assistant\n");
                break;
            default:
                if (!string.IsNullOrEmpty(system)) sb.Append(system).Append("\n\n");
                sb.Append(user);
                break;
        }
        return sb.ToString();
    }
}
