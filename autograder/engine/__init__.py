"""The grading engine: everything that grades a class and knows nothing of this course.

It reaches the course's exercises only by the names in :mod:`autograder.engine.course`,
never by an import, and never imports :mod:`autograder.testkit` or :mod:`autograder.tools`.
The layers, top to bottom: the command lines (``grade_class``, ``checked``, ``doctor``), the
class (``orchestrate``, ``executors``, ``grading_report``, ``intake``), one student's job
(``grade_job``, ``job_types``, ``course_config``, ``supervise``, ``job_outcome``,
``fingerprint``, ``gradebook_routes``, ``gradebook_rows``, ``limits``), the nbgrader
preprocessors (``trusted``, ``outputs``, ``feedback``) and the processes they start
(``sandbox``, ``verifier``, ``handover``, ``kernel_audit``, ``registry``). CONTRIBUTING.md,
"Architecture", has the picture.
"""
