/*
 * Checks and helpers shared by the Super SIM node editors. Node-RED serves a module's resources/ folder at
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

    // ---- The SIM and Fleet picker ------------------------------------------------------------------

    var PICKER_DEBOUNCE_MS = 250;
    function accountText(key, substitutions) {
        return window.RED._("node-red-contrib-supersim/supersim-account:supersim-account.picker." + key, substitutions);
    }
    function suggestionLabel(suggestion) {
        var $ = window.jQuery;
        var label = $("<div>").addClass("supersim-picker-option");
        $("<span>").addClass("supersim-picker-name").text(suggestion.value).appendTo(label);
        var details = [];
        if (suggestion.uniqueName && suggestion.sid !== suggestion.value) { details.push(suggestion.sid); }
        if (suggestion.iccid) { details.push(suggestion.iccid); }
        if (suggestion.status) { details.push(suggestion.status); }
        if (details.length > 0) {
            $("<span>").addClass("supersim-picker-detail").text(" " + details.join(" · "))
                .css({ color: "var(--red-ui-secondary-text-color, #777)", "font-size": "0.9em" }).appendTo(label);
        }
        return label;
    }

    /**
     * Suggests the deployed account's SIMs (`kind: "sims"`) or Fleets (`kind: "fleets"`) while the user types
     * in `input` (a selector or jQuery object), by any part of a unique name, SID or ICCID; anything else can
     * still be typed. Call it from oneditprepare:
     *
     *     SupersimEditor.attachPicker("#node-input-sim", { kind: "sims", account: "#node-input-account" });
     *     SupersimEditor.attachPicker("#node-input-fleet", { kind: "fleets", account: "#node-input-account" });
     *
     * `account`: the dialog's account field (a selector), or a function returning the account node's id.
     * `enabled` (optional): a function; while it returns false nothing is suggested (e.g. a field that names a
     * SIM of another API). A hint under the field says when the account is not deployed, has changes that are
     * not deployed yet (the suggestions come from the deployed one), or the user may not read accounts.
     * Uses Node-RED's own autoComplete widget; requests are debounced and the runtime caches the lists.
     */
    function attachPicker(input, options) {
        var $ = window.jQuery;
        var RED = window.RED;
        var field = $(input);
        if (field.length === 0 || typeof field.autoComplete !== "function") { return; }
        var kind = options && options.kind === "fleets" ? "fleets" : "sims";
        var accountOf = typeof options.account === "function" ? options.account : function() { return $(options.account).val(); };
        var enabled = typeof options.enabled === "function" ? options.enabled : function() { return true; };
        var row = field.closest(".form-row");
        var hint = $("<div>").addClass("form-tips supersim-picker-hint").attr("role", "status").hide();
        hint.insertAfter(row.length ? row : field);
        function showHint(text) {
            if (text) { hint.text(text).show(); } else { hint.empty().hide(); }
        }
        var timer = null;
        var latest = 0;
        function search(value, done) {
            if (timer !== null) { window.clearTimeout(timer); }
            var ticket = ++latest;
            timer = window.setTimeout(function() {
                timer = null;
                var id = accountOf();
                if (!enabled() || !id || id === "_ADD_") { showHint(""); done([]); return; }
                var account = RED.nodes.node(id);
                $.ajax({
                    url: "supersim-account/" + encodeURIComponent(id) + "/" + kind,
                    data: { q: value },
                    dataType: "json",
                    timeout: 30000
                }).done(function(answer) {
                    if (ticket !== latest) { return; }
                    showHint(account && account.changed ? accountText("changed") : (answer && answer.partial ? accountText("partial") : ""));
                    var suggestions = answer && Array.isArray(answer.suggestions) ? answer.suggestions : [];
                    done(suggestions.map(function(s) { return { value: s.value, label: suggestionLabel(s) }; }));
                }).fail(function(xhr) {
                    if (ticket !== latest) { return; }
                    var status = xhr && xhr.status;
                    var message = xhr && xhr.responseJSON && typeof xhr.responseJSON.message === "string" ? xhr.responseJSON.message : "";
                    if (status === 401 || status === 403) {
                        showHint(accountText("forbidden", { status: status }));
                    } else if (status === 404 && !message) {
                        showHint(accountText("missing"));
                    } else {
                        showHint(message || accountText("unreachable"));
                    }
                    done([]);
                });
            }, PICKER_DEBOUNCE_MS);
        }
        field.autoComplete({ search: search, minLength: 1 });
    }

    window.SupersimEditor = {
        isBlank: isBlank, simOk: simOk, wholeNumberIn: wholeNumberIn, httpUrlOk: httpUrlOk,
        RETRY_FOR_MAX_SECONDS: RETRY_FOR_MAX_SECONDS, retryForOk: retryForOk, answerTimeoutOk: answerTimeoutOk,
        outputsFor: outputsFor, prepareReaching: prepareReaching, saveReaching: saveReaching,
        attachPicker: attachPicker
    };
})();
