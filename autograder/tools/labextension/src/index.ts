/*
 * The course's JupyterLab extension, for the student's view (make lab).
 *
 * - Submit (nbgrader's Assignments tab): before nbgrader submits, the student sees the steps
 *   still open in each notebook (Validate's own list, from the server's
 *   /course-lab/open-steps, autograder/tools/open_steps.py) and confirms; afterwards a
 *   notification says in words what was submitted and when, in local time.
 * - The Assignments tab shows nbgrader's submission times ("2026-12-07 14:05:12.345 UTC") in
 *   the same words ("14:05 on 7 December").
 * - Validate is nbgrader's button on every notebook; it is hidden on notebooks that are not
 *   assignments (no cell carries nbgrader metadata), such as the lessons. In its dialog, a
 *   written answer still open is named by its step's number, as the checks name theirs.
 *
 * nbgrader's own widgets are left as they are: this listens to their clicks and rewrites
 * text it renders, so an nbgrader upgrade that renames them loses these additions, not
 * nbgrader's behaviour.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

const OPEN_STEPS = 'course-lab/open-steps';
const SUBMITTED_TIME =
  /(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d+)?\s*(?:UTC|\+00:00|Z)/;
const HEADING = /^##\s+(\d+)\./m;
const NO_RESPONSE = 'You did not provide a response.';
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'
];

interface INotebookSteps {
  name: string;
  open: string[];
  error?: string;
}

interface IOpenSteps {
  notebooks: INotebookSteps[];
  error: string | null;
}

/** "14:05 on 7 December", in the browser's time zone. */
export function readableTime(when: Date): string {
  const hours = String(when.getHours()).padStart(2, '0');
  const minutes = String(when.getMinutes()).padStart(2, '0');
  return `${hours}:${minutes} on ${when.getDate()} ${MONTHS[when.getMonth()]}`;
}

/** nbgrader's UTC timestamp as a Date, or null when the text is not one. */
function parseSubmitted(text: string): Date | null {
  const found = SUBMITTED_TIME.exec(text);
  if (!found) {
    return null;
  }
  const [, y, mo, d, h, mi, s] = found.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

async function openSteps(assignment: string): Promise<IOpenSteps> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(
    settings.baseUrl,
    OPEN_STEPS + '?assignment=' + encodeURIComponent(assignment)
  );
  const reply = await ServerConnection.makeRequest(url, {}, settings);
  if (!reply.ok) {
    return { notebooks: [], error: `The server could not check the steps (${reply.status}).` };
  }
  return (await reply.json()) as IOpenSteps;
}

/** The confirmation's body: each notebook with its open steps, numbered as Validate numbers them. */
function stepsBody(assignment: string, steps: IOpenSteps): Widget {
  const body = document.createElement('div');
  body.className = 'course-lab-open-steps';
  const open = steps.notebooks.filter(n => n.open.length > 0 || n.error);
  const intro = document.createElement('p');
  if (steps.error) {
    intro.textContent = steps.error;
  } else if (open.length === 0) {
    intro.textContent = `Every step of ${assignment} passes its visible checks.`;
  } else {
    intro.textContent = 'These steps are still open (the same list as Validate):';
  }
  body.append(intro);
  for (const notebook of open) {
    const title = document.createElement('h3');
    title.textContent = notebook.name;
    body.append(title);
    const list = document.createElement('ul');
    for (const sentence of notebook.open) {
      const item = document.createElement('li');
      item.textContent = sentence;
      list.append(item);
    }
    if (notebook.error) {
      const item = document.createElement('li');
      item.textContent = `Not checked: ${notebook.error}`;
      list.append(item);
    }
    body.append(list);
  }
  const question = document.createElement('p');
  question.className = 'course-lab-question';
  question.textContent =
    open.length === 0
      ? 'Submit it now? You may submit again later; your instructor grades the latest submission they collect.'
      : 'Submit anyway? You may submit again later; your instructor grades the latest submission they collect.';
  body.append(question);
  return new Widget({ node: body });
}

/** The assignment a row of nbgrader's Assignments tab is about. */
function assignmentOfRow(button: HTMLElement): string | null {
  const row = button.closest('.list_item');
  const name = row?.querySelector('.item_name');
  const text = (name?.textContent ?? '').trim().split(/\s+/)[0];
  return text || null;
}

function rewriteTimes(root: HTMLElement): void {
  for (const name of Array.from(root.querySelectorAll('.item_name'))) {
    for (const node of Array.from(name.childNodes)) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent) {
        continue;
      }
      const when = parseSubmitted(node.textContent);
      if (when) {
        node.textContent = node.textContent.replace(SUBMITTED_TIME, readableTime(when));
        (name as HTMLElement).title = when.toString();
        (name as HTMLElement).dataset.submittedAt = when.toISOString();
      }
    }
  }
}

/** The latest submission time the Assignments tab lists for ``assignment``, once it shows one. */
function watchForSubmission(list: HTMLElement, assignment: string, before: number): Promise<void> {
  return new Promise(resolve => {
    const observer = new MutationObserver(() => {
      const rows = Array.from(list.querySelectorAll('#submitted_assignments_list .list_item'));
      if (rows.length > before && rows.some(r => (r.textContent ?? '').includes(assignment))) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(list, { childList: true, subtree: true });
  });
}

/** The newest submission time the Assignments tab lists (nbgrader's own record), else now. */
function latestSubmission(tab: HTMLElement | null): Date {
  if (!tab) {
    return new Date();
  }
  rewriteTimes(tab);
  const times = Array.from(
    tab.querySelectorAll<HTMLElement>('#submitted_assignments_list [data-submitted-at]')
  ).map(name => Date.parse(name.dataset.submittedAt ?? ''));
  return times.length > 0 ? new Date(Math.max(...times)) : new Date();
}

function countSubmitted(root: HTMLElement): number {
  return root.querySelectorAll('#submitted_assignments_list .list_item').length;
}

function guardSubmit(): void {
  const confirmed = new WeakSet<HTMLElement>();
  document.addEventListener(
    'click',
    event => {
      const button = (event.target as HTMLElement | null)?.closest('button');
      if (
        !button ||
        !button.closest('#fetched_assignments_list') ||
        button.textContent?.trim() !== 'Submit'
      ) {
        return;
      }
      if (confirmed.has(button)) {
        confirmed.delete(button);
        return; // nbgrader's own handler submits
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      const assignment = assignmentOfRow(button);
      if (!assignment) {
        return;
      }
      const tab = button.closest('#nbgrader-assignment-list') as HTMLElement | null;
      void confirmAndSubmit(assignment, button, tab, confirmed);
    },
    true
  );
}

async function confirmAndSubmit(
  assignment: string,
  button: HTMLElement,
  tab: HTMLElement | null,
  confirmed: WeakSet<HTMLElement>
): Promise<void> {
  const checking = Notification.emit(
    `Checking which steps of ${assignment} are still open (this runs your notebooks, as Validate does)...`,
    'in-progress',
    { autoClose: false }
  );
  let steps: IOpenSteps;
  try {
    steps = await openSteps(assignment);
  } catch (error) {
    steps = { notebooks: [], error: `The steps could not be checked: ${error}` };
  } finally {
    Notification.dismiss(checking);
  }
  const answer = await showDialog({
    title: `Submit ${assignment}?`,
    body: stepsBody(assignment, steps),
    buttons: [Dialog.cancelButton({ label: 'Not yet' }), Dialog.okButton({ label: 'Submit' })]
  });
  if (!answer.button.accept) {
    return;
  }
  const before = tab ? countSubmitted(tab) : 0;
  const done = tab ? watchForSubmission(tab, assignment, before) : Promise.resolve();
  confirmed.add(button);
  button.click();
  await done;
  Notification.success(`Submitted ${assignment} at ${readableTime(latestSubmission(tab))}.`, {
    autoClose: false
  });
}

function watchAssignmentTimes(): void {
  const observer = new MutationObserver(() => {
    const tab = document.getElementById('nbgrader-assignment-list');
    if (tab) {
      rewriteTimes(tab);
    }
  });
  observer.observe(document.body, { childList: true, subtree: true });
}

/** Hide nbgrader's Validate button on a notebook no cell of which is nbgrader's (a lesson). */
function hideValidateOnLessons(panel: NotebookPanel): void {
  void panel.context.ready.then(() => {
    const model = panel.content.model;
    if (!model) {
      return;
    }
    let graded = false;
    for (let i = 0; i < model.cells.length; i++) {
      if (model.cells.get(i).getMetadata('nbgrader') !== undefined) {
        graded = true;
        break;
      }
    }
    if (graded) {
      return;
    }
    const hide = () => {
      for (const item of Array.from(panel.toolbar.node.querySelectorAll('.validate-button'))) {
        (item as HTMLElement).style.display = 'none';
      }
    };
    hide();
    // nbgrader adds its button when the panel is created; hide it whenever the toolbar redraws.
    new MutationObserver(hide).observe(panel.toolbar.node, { childList: true, subtree: true });
  });
}

/** The step of each cell of ``panel``'s notebook: the number of the "## N." heading above it. */
function stepOfSource(panel: NotebookPanel, source: string): number | null {
  const model = panel.content.model;
  let current: number | null = null;
  if (!model) {
    return null;
  }
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const text = cell.sharedModel.getSource();
    const heading = cell.type === 'markdown' ? HEADING.exec(text) : null;
    if (heading) {
      current = Number(heading[1]);
    }
    if (text.trim() === source.trim()) {
      return current;
    }
  }
  return null;
}

/**
 * Number the written answers in nbgrader's Validate dialog as the step checks number theirs:
 * nbgrader says only "You did not provide a response." under the answer's placeholder.
 */
function numberWrittenAnswers(notebooks: INotebookTracker): void {
  new MutationObserver(() => {
    const message = document.getElementById('validation-message');
    const panel = notebooks.currentWidget;
    if (!message || !panel || message.dataset.courseLabNumbered) {
      return;
    }
    message.dataset.courseLabNumbered = 'yes';
    const blocks = Array.from(message.querySelectorAll('.jp-RenderedText pre'));
    for (let i = 1; i < blocks.length; i++) {
      const error = blocks[i] as HTMLElement;
      if ((error.textContent ?? '').trim() !== NO_RESPONSE) {
        continue;
      }
      const number = stepOfSource(panel, blocks[i - 1].textContent ?? '');
      if (number !== null) {
        error.textContent = `Step ${number}: your written answer is still missing (${NO_RESPONSE})`;
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'course-lab:plugin',
  description: 'Submit lists the open steps and confirms; readable submission times; Validate only on assignments.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker) => {
    guardSubmit();
    watchAssignmentTimes();
    numberWrittenAnswers(notebooks);
    notebooks.widgetAdded.connect((_, panel) => hideValidateOnLessons(panel));
  }
};

export default plugin;
