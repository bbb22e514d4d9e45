/*
 * Checks shared by the Super SIM node editors. Node-RED serves a module's resources/ folder at
 * resources/<module>/, so every node's .html can load this one file instead of carrying a copy.
 */
(function () {
    // The same rules as the runtime's src/commands/validate.ts; the node checks again when a message arrives.
    // Validators that give a reason take (v, opt): Node-RED reads a string as a reason only from two-argument ones.
    function isBlank(v) { return v === undefined || v === null || String(v).trim() === ""; }
    function simOk(v) {
        if (isBlank(v)) { return true; }
        var text = String(v).trim();
        // Control characters and '/' cannot be in a unique name.
        // eslint-disable-next-line no-control-regex
        if (text.length > 64 || /[\u0000-\u001f\u007f-\u009f/]/.test(text)) { return false; }
        if (/^(HS|DE)[0-9a-fA-F]{32}$/.test(text)) { return true; }
        var rest = /^(?:HS|DE)(.*)$/.exec(text);
        if (rest === null) { return true; }
        // A SID that lost or gained characters in copying is refused rather than taken as a unique name.
        return !((text.length === 34 && /^[0-9A-Za-z]+$/.test(rest[1])) || (rest[1].length >= 24 && /^[0-9a-fA-F]+$/.test(rest[1])));
    }
    function wholeNumberIn(v, min, max) {
        var text = String(v).trim();
        return /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max;
    }
    function httpUrlOk(v) {
        if (isBlank(v)) { return true; }
        try {
            var protocol = new URL(String(v).trim()).protocol;
            return protocol === "http:" || protocol === "https:";
        } catch {
            return false;
        }
    }

    // "Reaching the device", the same in both send nodes: the runtime's limit on keeping trying is 7 days.
    var RETRY_FOR_MAX_SECONDS = 604800;
    function retryForOk(v) {
        // A node from before keep trying existed has no retryFor: off, not invalid.
        return v === undefined || v === null || wholeNumberIn(v, 0, RETRY_FOR_MAX_SECONDS);
    }
    function answerTimeoutOk(v) { return wholeNumberIn(v, 1, Infinity); }
    function outputsFor(waitAnswer) { return waitAnswer ? 3 : 2; }

    /**
     * Wires the dialog rows of waitAnswer, answerTimeout and retryFor (ids node-input-*, rows
     * .<type>-answer-row and .<type>-retry-note). The hidden node-input-outputs follows the checkbox, so
     * a node imported with waitAnswer but without outputs gets its third port at the next Done.
     */
    function prepareReaching(type) {
        var $ = window.jQuery;
        var waitAnswer = $("#node-input-waitAnswer");
        var retryFor = $("#node-input-retryFor");
        // An old node has neither field; the dialog shows the defaults rather than blanks that fail the checks.
        if (isBlank($("#node-input-answerTimeout").val())) { $("#node-input-answerTimeout").val("60"); }
        if (isBlank(retryFor.val())) { retryFor.val("0"); }
        function showAnswerRow() {
            var waiting = waitAnswer.prop("checked");
            $("." + type + "-answer-row").toggle(waiting);
            $("#node-input-outputs").val(String(outputsFor(waiting)));
            $("#node-input-answerTimeout").trigger("change");
        }
        function showRetryNote() {
            var value = retryFor.val();
            $("." + type + "-retry-note").toggle(retryForOk(value) && Number(String(value).trim()) > 0);
        }
        waitAnswer.on("change", showAnswerRow);
        retryFor.on("change keyup input", showRetryNote);
        showAnswerRow();
        showRetryNote();
    }
    /** For oneditsave: the port count follows the checkbox as saved (Node-RED records it for undo). */
    function saveReaching(node) {
        node.outputs = outputsFor(window.jQuery("#node-input-waitAnswer").prop("checked"));
    }

    window.SupersimEditor = {
        isBlank: isBlank, simOk: simOk, wholeNumberIn: wholeNumberIn, httpUrlOk: httpUrlOk,
        RETRY_FOR_MAX_SECONDS: RETRY_FOR_MAX_SECONDS, retryForOk: retryForOk, answerTimeoutOk: answerTimeoutOk,
        outputsFor: outputsFor, prepareReaching: prepareReaching, saveReaching: saveReaching
    };
})();
