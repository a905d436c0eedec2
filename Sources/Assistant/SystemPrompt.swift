/// The system prompt of a coding conversation.
///
/// Short on purpose: small models follow two or three concrete instructions and one example far better
/// than a page of rules. It names the edit formats the Patch module reads: a path line, then a fence with
/// the whole new file (the format small models manage best), or a fenced SEARCH/REPLACE block. Chosen by
/// trying variants greedily on SmolLM2-135M-Instruct and Qwen2.5-Coder-0.5B-Instruct (see README); the
/// models still often leave out the path line, which `SnippetResolver` makes up for.
///
/// Variants tried on Qwen2.5-Coder-0.5B (the default) on `make eval-edits` scenarios (greedy, llama-cpp-python), and
/// not kept: a concrete example file (`src/util.py` with a whole-file and a SEARCH/REPLACE example) — the
/// model then writes the example's path above its answer; asking for one sentence on the change first
/// (with or without an example) — in both answers looked at it stopped after the prose, with no code;
/// asking to write the path exactly as given — it still writes `/path/to/words.py` (which
/// `SnippetResolver` now maps to `words.py`).
public enum SystemPrompt {
    /// The prompt for a workspace; `projectName` is the root directory's name.
    public static func coding(projectName: String) -> String {
        """
        You are wafer, a coding assistant in the repository "\(projectName)". Be brief.
        To change a file, reply with its path on a line of its own, then the complete new file in a fenced code block:

        <path of the file>
        ```python
        (the whole file, with your change)
        ```

        For a small change to a long file, you may instead write the path, then a fenced block with \
        <<<<<<< SEARCH, the exact old lines, =======, the new lines, >>>>>>> REPLACE.
        """
    }
}
